// Ctrl-C (SIGINT) and SIGTERM: the first asks a training command to stop after its current step (it then writes a
// mid-epoch checkpoint and prints the command that resumes); a second one, or one during a command that cannot stop
// cleanly, exits at once with one line. System.CommandLine's own handling (and its termination timeout) is off.
using System.Runtime.InteropServices;

namespace MaeDsl.Cli;

/// <summary>The runner's handling of SIGINT and SIGTERM while a command runs.</summary>
internal sealed class StopSignals : IDisposable
{
    const int SigintExit = 130, SigtermExit = 143;
    static StopSignals? current;

    readonly CancellationTokenSource cancel;
    readonly PosixSignalRegistration[] registrations;
    int received;   // 0, or the exit code of the first signal

    StopSignals(CancellationTokenSource cancel)
    {
        this.cancel = cancel;
        registrations =
            [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    /// <summary>Handles the signals until disposed; the first one cancels <paramref name="cancel"/>.</summary>
    public static StopSignals Install(CancellationTokenSource cancel) => current = new StopSignals(cancel);

    /// <summary>Set by a command whose body stops cleanly on cancellation (the training commands); otherwise a signal exits at once.</summary>
    public static volatile bool Cooperative;

    /// <summary>What the first signal does, said on stdout when it arrives (the evaluation of the main job says its own).</summary>
    public static volatile string FirstSignalMeans = DefaultFirstSignalMeans;
    public const string DefaultFirstSignalMeans = "finishing the current step, then writing a checkpoint";

    /// <summary>The exit code of a stop: 143 after SIGTERM, else 130 (SIGINT, or the caller's token).</summary>
    public static int ExitCode => current?.received is SigtermExit ? SigtermExit : SigintExit;

    /// <summary>"SIGTERM", "SIGINT", or null when no signal arrived (the caller's token was cancelled).</summary>
    public static string? SignalName => current?.received switch { SigtermExit => "SIGTERM", SigintExit => "SIGINT", _ => null };

    void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        int code = context.Signal == PosixSignal.SIGTERM ? SigtermExit : SigintExit;
        string name = context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";
        if (Interlocked.CompareExchange(ref received, code, 0) != 0)
            ExitNow(code, $"stopped at once ({name} again): the last checkpoint written is the resume point");
        if (!Cooperative)
            ExitNow(code, $"stopped ({name})");
        Console.Out.WriteLine($"{name}: {FirstSignalMeans} (again to exit at once)");
        Console.Out.Flush();
        ThreadPool.QueueUserWorkItem(_ => { try { cancel.Cancel(); } catch (ObjectDisposedException) { } });
    }

    /// <summary>Writes <paramref name="line"/> on stderr and ends the process with <paramref name="code"/>, running nothing else.</summary>
    static void ExitNow(int code, string line)
    {
        Console.Error.WriteLine(line);
        Console.Error.Flush();
        if (!OperatingSystem.IsWindows()) _exit(code);
        Environment.Exit(code);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    static extern void _exit(int status);

    public void Dispose()
    {
        foreach (var r in registrations) r.Dispose();
        if (current == this) current = null;
    }
}

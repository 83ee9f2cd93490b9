// Ctrl-C (SIGINT), SIGTERM and SIGHUP (a dropped SSH session or closed terminal, handled as SIGTERM): the first asks a training command to stop after its
// current step (it then writes a
// mid-epoch checkpoint and prints the command that resumes), or embed/predict to stop after the current batch (writing
// nothing); a second one, or one during a command that cannot stop cleanly, exits at once with one line. System.CommandLine's own handling (and its termination
// timeout) is off.
using System.Runtime.InteropServices;

namespace MaeDsl.Cli;

/// <summary>The runner's handling of SIGINT, SIGTERM and SIGHUP while a command runs.</summary>
internal sealed class StopSignals : IDisposable
{
    const int SigintExit = 130, SigtermExit = 143, SighupExit = 129;   // 128 + the signal's number, as a shell reports it
    static StopSignals? current;

    readonly CancellationTokenSource cancel;
    readonly PosixSignalRegistration[] registrations;
    int received;   // 0, or the exit code of the first signal

    StopSignals(CancellationTokenSource cancel)
    {
        this.cancel = cancel;
        registrations =
            [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
             PosixSignalRegistration.Create(PosixSignal.SIGHUP, Handle)];
    }

    /// <summary>Handles the signals until disposed; the first one cancels <paramref name="cancel"/>.</summary>
    public static StopSignals Install(CancellationTokenSource cancel) => current = new StopSignals(cancel);

    /// <summary>Set by a command whose body stops cleanly on cancellation (the training commands, embed, predict); otherwise a signal exits at once.</summary>
    public static volatile bool Cooperative;

    /// <summary>What a cooperative command says on the first signal and after a second one.</summary>
    /// <param name="BeforeWork">What a stop before the first step means (the token was cancelled before the loop wrote anything).</param>
    internal sealed record Wording(string Finishing, string AtOnce, string BeforeWork = "nothing was done");

    /// <summary>The training commands' wording: a checkpoint is written, and is the resume point; a stop before the first step keeps nothing.</summary>
    internal static readonly Wording Training = new("finishing the current step, then writing a checkpoint (again to exit at once)",
        "the last checkpoint written is the resume point",
        "nothing was trained and nothing is kept (no checkpoint was written yet)");

    /// <summary>The wording of the running cooperative command (<see cref="Training"/> unless it sets its own).</summary>
    internal static volatile Wording Says = Training;

    /// <summary>The exit code of a stop: 143 after SIGTERM, 129 after SIGHUP, else 130 (SIGINT, or the caller's token).</summary>
    public static int ExitCode => current?.received is SigtermExit or SighupExit ? current.received : SigintExit;

    /// <summary>"SIGTERM", "SIGHUP", "SIGINT", or null when no signal arrived (the caller's token was cancelled).</summary>
    public static string? SignalName => current?.received switch { SigtermExit => "SIGTERM", SighupExit => "SIGHUP", SigintExit => "SIGINT", _ => null };

    void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        var (code, name) = context.Signal switch
        {
            PosixSignal.SIGTERM => (SigtermExit, "SIGTERM"),
            PosixSignal.SIGHUP => (SighupExit, "SIGHUP"),
            _ => (SigintExit, "SIGINT"),
        };
        if (Interlocked.CompareExchange(ref received, code, 0) != 0)
            ExitNow(code, $"stopped at once ({name} again): {Says.AtOnce}");
        if (!Cooperative)
            ExitNow(code, $"stopped ({name})");
        Console.Out.WriteLine($"{name}: {Says.Finishing}");
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

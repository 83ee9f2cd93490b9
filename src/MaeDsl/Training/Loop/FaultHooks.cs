// FaultHooks: the one seam through which tests inject a fault into a training run (kill -9, SIGTERM or a failure at an
// iteration, a hold before the first step).
using System.Diagnostics;

namespace MaeDsl.Training.Loop;

/// <summary>
/// Test-only faults, read once from the environment when a run starts; with none set (every real run) each hook is a
/// comparison and nothing else.
/// </summary>
internal sealed class FaultHooks
{
    /// <summary>After iteration N (global, 1-based count of iterations done) and any checkpoint due there, the process kills
    /// itself with SIGKILL: no finally block runs, nothing is flushed, as after kill -9.</summary>
    public const string KillAtStepVariable = "MAEDSL_TEST_KILL_AT_STEP";

    /// <summary>After iteration N the run fails with an <see cref="IOException"/>, as a full disk or a lost file would fail it
    /// (a data-parallel test sets it on one rank to see every rank end).</summary>
    public const string FailAtStepVariable = "MAEDSL_TEST_FAIL_AT_STEP";

    /// <summary>After iteration N the process sends itself SIGTERM, as a scheduler or a user signalling that one process would
    /// (a data-parallel test sets it on one rank: every rank must stop at the same iteration).</summary>
    public const string TermAtStepVariable = "MAEDSL_TEST_TERM_AT_STEP";

    /// <summary>Set to 1, the run waits before its first step (printing <see cref="HoldingLine"/>) until it is asked to stop,
    /// for at most a minute: a signal sent then lands before any step, whatever the machine's speed.</summary>
    public const string HoldBeforeFirstStepVariable = "MAEDSL_TEST_HOLD_BEFORE_FIRST_STEP";

    /// <summary>What a held run prints once it waits.</summary>
    public const string HoldingLine = "test: holding before the first step until a stop is requested";

    readonly long killAtStep, failAtStep, termAtStep;
    bool holdBeforeFirstStep;

    FaultHooks(long killAtStep, long failAtStep, long termAtStep, bool holdBeforeFirstStep) =>
        (this.killAtStep, this.failAtStep, this.termAtStep, this.holdBeforeFirstStep) = (killAtStep, failAtStep, termAtStep, holdBeforeFirstStep);

    internal static FaultHooks FromEnvironment() => new(Step(KillAtStepVariable), Step(FailAtStepVariable), Step(TermAtStepVariable),
        Environment.GetEnvironmentVariable(HoldBeforeFirstStepVariable) == "1");

    /// <summary>Called once before the run's first step.</summary>
    internal void BeforeFirstStep(CancellationToken stop)
    {
        if (!holdBeforeFirstStep) return;
        holdBeforeFirstStep = false;
        Console.WriteLine(HoldingLine);
        Console.Out.Flush();
        stop.WaitHandle.WaitOne(TimeSpan.FromMinutes(1));
    }

    static long Step(string variable) => long.TryParse(Environment.GetEnvironmentVariable(variable), out var step) ? step : -1;

    /// <summary>Called after each iteration with the count of iterations done; <paramref name="flush"/> writes what a real
    /// crash at that point would already have written.</summary>
    internal void AfterIteration(long iterationsDone, Action flush)
    {
        if (iterationsDone == failAtStep)
            throw new IOException($"test fault: failed after iteration {iterationsDone} ({FailAtStepVariable})");
        if (iterationsDone == termAtStep && !OperatingSystem.IsWindows())
            _ = SendSignal(Environment.ProcessId, SigTerm);   // handled as any SIGTERM: the loop stops at its next check
        if (iterationsDone != killAtStep) return;
        flush();
        Console.Out.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();   // SIGKILL on Unix
        Thread.Sleep(Timeout.Infinite);
    }

    const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int SendSignal(int pid, int signal);
}

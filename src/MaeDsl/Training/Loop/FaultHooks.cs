// FaultHooks: the one seam through which tests inject a fault into a training run (kill -9 at an iteration).
using System.Diagnostics;

namespace MaeDsl.Training.Loop;

/// <summary>
/// Test-only faults, read once from the environment when a run starts; with none set (every real run) each hook is a
/// comparison and nothing else.
/// </summary>
public sealed class FaultHooks
{
    /// <summary>After iteration N (global, 1-based count of iterations done) and any checkpoint due there, the process kills
    /// itself with SIGKILL: no finally block runs, nothing is flushed, as after kill -9.</summary>
    public const string KillAtStepVariable = "MAEDSL_TEST_KILL_AT_STEP";

    /// <summary>After iteration N the run fails with an <see cref="IOException"/>, as a full disk or a lost file would fail it
    /// (a data-parallel test sets it on one rank to see every rank end).</summary>
    public const string FailAtStepVariable = "MAEDSL_TEST_FAIL_AT_STEP";

    readonly long killAtStep, failAtStep;

    FaultHooks(long killAtStep, long failAtStep) => (this.killAtStep, this.failAtStep) = (killAtStep, failAtStep);

    internal static FaultHooks FromEnvironment() => new(Step(KillAtStepVariable), Step(FailAtStepVariable));

    static long Step(string variable) => long.TryParse(Environment.GetEnvironmentVariable(variable), out var step) ? step : -1;

    /// <summary>Called after each iteration with the count of iterations done; <paramref name="flush"/> writes what a real
    /// crash at that point would already have written.</summary>
    internal void AfterIteration(long iterationsDone, Action flush)
    {
        if (iterationsDone == failAtStep)
            throw new IOException($"test fault: failed after iteration {iterationsDone} ({FailAtStepVariable})");
        if (iterationsDone != killAtStep) return;
        flush();
        Console.Out.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();   // SIGKILL on Unix
        Thread.Sleep(Timeout.Infinite);
    }
}

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

    readonly long killAtStep;

    FaultHooks(long killAtStep) => this.killAtStep = killAtStep;

    internal static FaultHooks FromEnvironment() =>
        new(long.TryParse(Environment.GetEnvironmentVariable(KillAtStepVariable), out var step) ? step : -1);

    /// <summary>Called after each iteration with the count of iterations done; <paramref name="flush"/> writes what a real
    /// crash at that point would already have written.</summary>
    internal void AfterIteration(long iterationsDone, Action flush)
    {
        if (iterationsDone != killAtStep) return;
        flush();
        Console.Out.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();   // SIGKILL on Unix
        Thread.Sleep(Timeout.Infinite);
    }
}

// RunStoppedException: the loop stopped on request (Ctrl-C, SIGTERM, a cancelled token) after writing its resume point.
namespace MaeDsl.Training.Loop;

/// <summary>
/// The training loop stopped because its token was cancelled: after the current iteration (with accumulation, at the next
/// optimizer step) it wrote <see cref="Checkpoint"/> (a mid-epoch checkpoint, or the last epoch's when nothing was done since),
/// from which <c>--resume</c> continues bit for bit.
/// </summary>
public sealed class RunStoppedException(string checkpoint, int epoch, int stepInEpoch, long globalStep, CancellationToken token)
    : OperationCanceledException($"stopped at iteration {globalStep} (epoch {epoch + 1}, iteration {stepInEpoch} of the epoch); resume from {checkpoint}",
        token)
{
    /// <summary>The checkpoint to resume from.</summary>
    public string Checkpoint { get; } = checkpoint;
    public int Epoch { get; } = epoch;
    public int StepInEpoch { get; } = stepInEpoch;
    public long GlobalStep { get; } = globalStep;
}

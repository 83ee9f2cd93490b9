// NonFiniteLossException: the loop's stop on a NaN/infinite loss, naming the step and the last good checkpoint.
namespace MaeDsl.Training.Loop;

/// <summary>
/// The loss became NaN or infinite. Training stops (the official loop exits too); the message names the
/// step, the lr at that step and the last good checkpoint to resume from: the newest one that verifies against its checksums.
/// </summary>
public sealed class NonFiniteLossException : Exception
{
    /// <param name="lastCheckpoint">The last checkpoint the run wrote or resumed from: it is checked against its checksums, and when
    /// it does not verify the newest numbered checkpoint beside it that does is named instead (none when none does).</param>
    public NonFiniteLossException(double loss, int epoch, long globalStep, double lr, string? lastCheckpoint)
        : this(loss, epoch, globalStep, lr, new Verified(Checkpoints.CheckpointStore.NewestVerified(lastCheckpoint))) { }

    NonFiniteLossException(double loss, int epoch, long globalStep, double lr, Verified lastGood)
        : base(Describe(loss, epoch, globalStep, lr, lastGood.Path))
    {
        Loss = loss;
        Epoch = epoch;
        GlobalStep = globalStep;
        LearningRate = lr;
        LastGoodCheckpoint = lastGood.Path;
    }

    /// <summary>A checkpoint path that has been checked against its checksums (null: none verifies).</summary>
    readonly record struct Verified(string? Path);

    public double Loss { get; }
    public int Epoch { get; }
    /// <summary>The 0-based data iteration counted over the whole run (epoch × steps per epoch + step in epoch).</summary>
    public long GlobalStep { get; }
    public double LearningRate { get; }
    /// <summary>The newest checkpoint that verifies against its checksums, or null.</summary>
    public string? LastGoodCheckpoint { get; }

    static string Describe(double loss, int epoch, long globalStep, double lr, string? checkpoint) =>
        FormattableString.Invariant(
            $"Loss is {loss} at step {globalStep} (epoch {epoch}) with lr {lr:E4}; training stopped. ") +
        (checkpoint is null
            ? "No checkpoint that verifies was written before this step, so there is nothing to resume from; lower --blr or raise --warmup-epochs and start " +
                "again."
            : $"The last good checkpoint (it verifies against its checksums) is {checkpoint}: resume from it with --resume {checkpoint} (consider a lower " +
                $"--blr).");
}

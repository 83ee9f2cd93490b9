// RunProgress: where a run stands (epoch, step, counters, training time, last checkpoint), fresh or read from a checkpoint.
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;

namespace MaeDsl.Training.Loop;

/// <summary>
/// The counters the loop carries from iteration to iteration and writes into every checkpoint: a fresh run starts at
/// zero, a resumed one where its checkpoint stopped (also inside an epoch). <see cref="ToCheckpoint"/> is the one place
/// that turns them back into a <see cref="CheckpointInfo"/>.
/// </summary>
internal sealed class RunProgress
{
    /// <summary>The first epoch this process trains (0-based).</summary>
    public int StartEpoch { get; private init; }
    /// <summary>Iterations of <see cref="StartEpoch"/> already done before this process (a mid-epoch resume).</summary>
    public int StartStep { get; private init; }
    /// <summary>The loss sum of those iterations (the epoch mean continues from it).</summary>
    public double StartLossSum { get; private init; }

    public long GlobalStep { get; set; }
    public long OptimizerSteps { get; set; }
    public long SkippedSteps { get; set; }
    /// <summary>Training seconds of the epochs finished so far (evaluation excluded).</summary>
    public double TrainSeconds { get; set; }
    /// <summary>The newest checkpoint written or resumed from; null before the first.</summary>
    public string? LastCheckpoint { get; set; }

    public static RunProgress Fresh() => new();

    public static RunProgress Resumed(string path, CheckpointInfo info) => new()
    {
        StartEpoch = info.Epoch + 1, StartStep = info.StepInEpoch, StartLossSum = info.EpochLossSum,
        GlobalStep = info.GlobalStep, OptimizerSteps = info.OptimizerSteps, SkippedSteps = info.SkippedSteps,
        TrainSeconds = info.TrainSeconds, LastCheckpoint = Path.GetFullPath(path),
    };

    /// <summary>
    /// The checkpoint of <paramref name="completedEpoch"/> (−1 and up: the last epoch done), or of the epoch after it stopped
    /// at <paramref name="stepInEpoch"/> with <paramref name="lossSum"/> so far and <paramref name="epochSeconds"/> spent in it.
    /// </summary>
    public CheckpointInfo ToCheckpoint(string modelName, int completedEpoch, JsonObject config, byte[] rngState,
        int stepInEpoch = 0, double lossSum = 0, double epochSeconds = 0) =>
        new(modelName, completedEpoch, GlobalStep, OptimizerSteps, config, rngState)
        {
            TrainSeconds = TrainSeconds + epochSeconds, StepInEpoch = stepInEpoch, EpochLossSum = lossSum, SkippedSteps = SkippedSteps,
        };
}

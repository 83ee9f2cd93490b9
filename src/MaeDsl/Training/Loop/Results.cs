// Results: what a run of the training loop reports, and the events it raises.
using MaeDsl.Evaluation;
using static TorchSharp.torch;

namespace MaeDsl.Training.Loop;

/// <summary>One row of eval.csv: the evaluation after an epoch, with the training loss and wall time so far.</summary>
public sealed record EpochEval(int Epoch, double Top1, double Top5, double TestLoss, double TrainLoss, double TrainSeconds);

/// <summary>What a finished (or resumed-and-finished) run of the loop reports.</summary>
/// <param name="Epochs">The run's epochs.</param>
/// <param name="Steps">Data iterations over the whole run.</param>
/// <param name="LastLoss">The loss of the last iteration.</param>
/// <param name="MeanLossLastEpoch">The mean loss of the last epoch.</param>
/// <param name="LastCheckpoint">The checkpoint to resume from (the numbered one when kept).</param>
/// <param name="Elapsed">Wall time of this call.</param>
/// <param name="ImagesPerSecond">Training throughput of this call.</param>
/// <param name="TrainSeconds">Wall time of the training iterations of all epochs (including those before a resume), without evaluation and checkpoints.</param>
/// <param name="Evals">Every evaluation (eval.csv's rows); empty for a recipe without evaluation.</param>
internal sealed record TrainingResult(int Epochs, long Steps, float LastLoss, double MeanLossLastEpoch, string LastCheckpoint,
    TimeSpan Elapsed, double ImagesPerSecond, double TrainSeconds, IReadOnlyList<EpochEval> Evals, EvalResult? FinalEval)
{
    /// <summary>Iterations skipped for a non-finite loss over the whole run (--skip-nonfinite).</summary>
    public long SkippedSteps { get; init; }
}

/// <summary>What a pre-training run reports.</summary>
public sealed record PretrainResult(int Epochs, long Steps, float LastLoss, double MeanLossLastEpoch, string LastCheckpoint, TimeSpan Elapsed,
    double ImagesPerSecond);

/// <summary>What a fine-tune or linear-probe run reports.</summary>
/// <param name="Final">The evaluation after the last epoch.</param>
/// <param name="Best">The best top-1 of all evaluations (the official "Max accuracy").</param>
/// <param name="TrainSeconds">Wall time of the training iterations of all epochs (including the ones before a resume),
/// without evaluation and checkpoint writing.</param>
/// <param name="Evals">Every evaluation, as eval.csv holds them.</param>
public sealed record ClassifierRunResult(EvalResult Final, double Best, int Epochs, long Steps, double TrainSeconds,
    double TotalSeconds, string LastCheckpoint, IReadOnlyList<EpochEval> Evals)
{
    internal static ClassifierRunResult From(TrainingResult r, string name) => new(
        r.FinalEval ?? throw new InvalidOperationException($"{name}: no evaluation ran."), r.Evals.Max(e => e.Top1),
        r.Epochs, r.Steps, r.TrainSeconds, r.Elapsed.TotalSeconds, r.LastCheckpoint, r.Evals);
}

/// <summary>Raised after a checkpoint is written (pictures are drawn from here).</summary>
public sealed record CheckpointWritten(int Epoch, long GlobalStep, string Path, bool Kept, bool Final, nn.Module Model, IReadOnlyList<StepMetrics> History);

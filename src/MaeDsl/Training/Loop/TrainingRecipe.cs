// TrainingRecipe: what a recipe (pre-training, fine-tuning, linear probing) hands the training loop.
using System.Text.Json.Nodes;
using MaeDsl.Evaluation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training.Loop;

/// <summary>
/// One recipe of the <see cref="TrainingLoop"/>: the model and its optimizer, the per-group lr scales, the batches
/// of an epoch, one iteration's loss and, optionally, an evaluation. Everything else (resume and its checks,
/// config.json, accumulation, clipping, the non-finite stop, checkpoints, logs, cancellation, the GC policy) is the loop's.
/// </summary>
/// <typeparam name="TBatch">What one iteration consumes (a [B, C, H, W] image tensor, a labelled <see cref="Data.Batch"/>); the loop disposes it after the
/// step.</typeparam>
internal abstract class TrainingRecipe<TBatch> where TBatch : IDisposable
{
    /// <summary>config.json's "recipe": "pretrain", "finetune" or "linprobe".</summary>
    public abstract string Kind { get; }
    /// <summary>For people: "pre-training", "fine-tune", "linear probe" (progress bar, messages).</summary>
    public abstract string DisplayName { get; }
    /// <summary>The name checkpoints record; a resume into another model or recipe is refused.</summary>
    public abstract string ModelName { get; }
    public abstract nn.Module Model { get; }
    public abstract OptimizerHelper Optimizer { get; }
    /// <summary>The lr scale of each optimizer param group, in order (layer decay); null: every group gets the schedule's lr.</summary>
    public virtual IReadOnlyList<double>? LrScales => null;
    /// <summary>The parameters whose gradient norm is clipped when RunOptions.ClipGrad is set.</summary>
    public abstract IReadOnlyList<Parameter> TrainableParameters { get; }
    /// <summary>The recipe's whole options object (PretrainOptions, FineTuneOptions, LinearProbeOptions) for config.json's "options".</summary>
    public abstract object Options { get; }
    /// <summary>The model's spec, recorded in config.json.</summary>
    public abstract MaeSpec Spec { get; }
    /// <summary>Recipe-specific computed values for config.json's "derived" (e.g. train_images).</summary>
    public virtual JsonObject Derived => new();

    /// <summary>Full batches per epoch (drop_last).</summary>
    public abstract int StepsPerEpoch { get; }
    /// <summary>The batches of <paramref name="epoch"/>, exactly <see cref="StepsPerEpoch"/>, depending only on (seed, epoch).</summary>
    public abstract IEnumerable<TBatch> Batches(int epoch, CancellationToken cancel);
    /// <summary>The batches of <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on (a resume inside an epoch); by
    /// default the first ones are drawn and disposed, which a recipe whose loader can start later overrides.</summary>
    public virtual IEnumerable<TBatch> Batches(int epoch, int firstBatch, CancellationToken cancel)
    {
        int i = 0;
        foreach (var batch in Batches(epoch, cancel))
        {
            if (i++ < firstBatch) { batch.Dispose(); continue; }
            yield return batch;
        }
    }
    /// <summary>The data's identity for config.json's "inputs" (image count, class names; keys in <see cref="OptionClasses.InputKeys"/>), checked on
    /// resume.</summary>
    public virtual JsonObject Inputs => new();
    /// <summary>
    /// One iteration's loss (a scalar tensor). Runs inside the step's DisposeScope and no-GC region; its random draws
    /// must depend only on (seed, epoch, step) or on torch's global generator (restored on resume).
    /// </summary>
    public abstract Tensor Loss(TBatch batch, int epoch, int step);

    /// <summary>Evaluate after every this many epochs (and after the last); 0: the recipe has no evaluation.</summary>
    public virtual int EvalPeriod => 0;
    /// <summary>One evaluation pass (eval mode and no grad are the recipe's business).</summary>
    public virtual EvalResult Evaluate(CancellationToken cancel) => throw new NotSupportedException($"{DisplayName} has no evaluation");
}

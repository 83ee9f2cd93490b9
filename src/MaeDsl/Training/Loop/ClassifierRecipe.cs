// ClassifierRecipe: the recipe of fine-tuning and linear probing: labelled loaders, a loss, and the evaluation hook.
using System.Text.Json.Nodes;
using MaeDsl.Data;
using MaeDsl.Evaluation;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training.Loop;

/// <summary>
/// A recipe on labelled images for a <see cref="VitClassifier"/>: the training loader (shuffled, drop_last, the
/// recipe's transform), one iteration's loss from (images, labels, epoch, step), and the evaluation of
/// engine_finetune.evaluate on the validation loader (resize + centre crop, every image), with the dataset sizes in
/// config.json's "derived". FineTuner and LinearProbe differ only in what they pass in.
/// </summary>
internal sealed class ClassifierRecipe : TrainingRecipe<Batch>
{
    readonly BatchLoader train, val;
    readonly ClassifierOptions options;
    readonly VitClassifier model;
    readonly Func<Tensor, Tensor, int, int, Tensor> loss;
    readonly Normalization normalization;

    /// <param name="kind">"finetune" or "linprobe" (config.json's recipe; the checkpoints' model is VitClassifier/kind).</param>
    /// <param name="displayName">For people: "fine-tune", "linear probe".</param>
    /// <param name="trainable">The parameters the optimizer updates (and clipping sees).</param>
    /// <param name="lrScales">Each optimizer param group's lr scale (layer decay), or null for 1.</param>
    /// <param name="loss">One iteration's loss from (images, labels, epoch, step).</param>
    /// <param name="shard">This rank's part of each epoch (data-parallel training), else <see cref="DistributedShard.Whole"/>.</param>
    public ClassifierRecipe(string kind, string displayName, VitClassifier model, OptimizerHelper optimizer, IReadOnlyList<Parameter> trainable,
        IReadOnlyList<double>? lrScales, ClassifierOptions options, Func<Tensor, Tensor, int, int, Tensor> loss,
        IImageDataset train, IImageDataset val, IImageTransform trainTransform, Normalization normalization, DistributedShard shard)
    {
        Kind = kind;
        DisplayName = displayName;
        this.model = model;
        Optimizer = optimizer;
        TrainableParameters = trainable;
        LrScales = lrScales;
        this.options = options;
        this.loss = loss;
        this.normalization = normalization;
        var run = options.Run;
        var device = Devices.Of(model);
        this.train = new BatchLoader(train, run.BatchSize, trainTransform, shuffle: true, dropLast: true, seed: run.Seed, workers: run.Workers)
        {
            PinnedFor = device, Shard = shard,
        };
        this.val = new BatchLoader(val, run.BatchSize, Transforms.Eval(model.Spec.ImageSize, normalization, options.EvalCropPct),
            shuffle: false, dropLast: false, seed: run.Seed, workers: run.Workers) { PinnedFor = device };
    }

    /// <summary>Throws unless <paramref name="model"/> has the options' number of classes.</summary>
    public static void RequireClasses(VitClassifier model, ClassifierOptions options, string owner)
    {
        if (model.NumClasses != options.NumClasses)
            throw new ArgumentException($"{owner}: the classifier has {model.NumClasses} classes, the options say {options.NumClasses}.", nameof(model));
    }

    public override string Kind { get; }
    public override string DisplayName { get; }
    public override string ModelName => $"{nameof(VitClassifier)}/{Kind}";
    public override nn.Module Model => model;
    public override OptimizerHelper Optimizer { get; }
    public override IReadOnlyList<double>? LrScales { get; }
    public override IReadOnlyList<Parameter> TrainableParameters { get; }
    public override object Options => options;
    public override MaeSpec Spec => model.Spec;
    public override int StepsPerEpoch => train.BatchesPerEpoch;
    public override IEnumerable<Batch> Batches(int epoch, CancellationToken cancel) => train.Epoch(epoch, cancellationToken: cancel);
    public override IEnumerable<Batch> Batches(int epoch, int firstBatch, CancellationToken cancel) => train.Epoch(epoch, firstBatch, cancel);
    public override JsonObject Inputs => DataIdentity.Of(train.Dataset);
    public override Tensor Loss(Batch batch, int epoch, int step) => loss(batch.Images, batch.Labels, epoch, step);
    // the class names and the normalisation go with the checkpoint, so that `predict` names the classes and prepares images as this run did
    public override JsonObject Derived => new()
    {
        ["train_images"] = train.Dataset.Count, ["val_images"] = val.Dataset.Count,
        ["class_names"] = new JsonArray(train.Dataset.ClassNames.Select(n => (JsonNode?)n).ToArray()),
        ["normalization"] = new JsonObject { ["mean"] = new JsonArray(normalization.Mean.Select(v => (JsonNode?)v).ToArray()),
            ["std"] = new JsonArray(normalization.Std.Select(v => (JsonNode?)v).ToArray()) },
    };
    public override int EvalPeriod => options.EvalPeriod;
    public override EvalResult Evaluate(CancellationToken cancel) =>
        ClassifierEvaluation.Evaluate(model, Batch.Pairs(val.Epoch(0, cancellationToken: cancel)));

    /// <summary>Runs this recipe in <paramref name="loop"/> and reports the evaluations.</summary>
    public ClassifierRunResult RunIn(TrainingLoop loop, TextWriter? console, CancellationToken cancel) =>
        ClassifierRunResult.From(loop.Execute(this, console, cancel), DisplayName);
}

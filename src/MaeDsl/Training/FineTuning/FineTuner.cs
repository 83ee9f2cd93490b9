// FineTuner: the fine-tuning recipe (main_finetune.py + engine_finetune.py) run by the training loop.
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Training.Loop;
using MaeDsl.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training.FineTuning;

/// <summary>
/// End-to-end fine-tuning as the official <c>main_finetune.py</c> + <c>engine_finetune.py</c>: a
/// <see cref="VitClassifier"/> (global pool + fc_norm by default, drop path rising over depth, head trunc_normal
/// 2e-5) holding the pre-trained encoder; AdamW over the layer-wise lr-decay groups of param_groups_lrd (each
/// group's lr scaled by its layer's factor); random erasing, then Mixup/CutMix with label smoothing and soft-target
/// cross-entropy; top-1/top-5 evaluation. The <see cref="TrainingLoop"/> does the rest.
/// </summary>
public sealed class FineTuner : IDisposable
{
    /// <summary>Prepares a run of <paramref name="model"/> (already holding the pre-trained or random encoder).</summary>
    public FineTuner(VitClassifier model, FineTuneOptions options)
    {
        options.Validate();
        ClassifierRecipe.RequireClasses(model, options, nameof(FineTuner));
        Device = Devices.Resolve(options.Run.Device);
        Devices.MoveModel(model, Device);   // before the optimizer holds the parameters
        Model = model;
        Options = options;
        Loop = new TrainingLoop(options.Run);
        Groups = LayerDecay.ParamGroups(model.named_parameters(), model.Depth, options.Run.WeightDecay, options.LayerDecay);
        Optimizer = LayerDecay.CreateAdamW(Groups, options.Run.AbsoluteLr);
        Mixup = options.MixupActive
            ? new Mixup(options.NumClasses, options.Mixup, options.Cutmix, options.MixupProb, options.MixupSwitchProb, options.LabelSmoothing)
            : null;
        Erasing = options.RandomErasing > 0 ? new RandomErasing(options.RandomErasing) : null;
    }

    public VitClassifier Model { get; }
    /// <summary>The device the model trains on (<see cref="RunOptions.Device"/>).</summary>
    public Device Device { get; }
    public FineTuneOptions Options { get; }
    internal TrainingLoop Loop { get; }
    public LrSchedule Schedule => Loop.Schedule;
    /// <summary>The layer-decay groups, one AdamW param group each, in the same order.</summary>
    internal IReadOnlyList<LayerDecayGroup> Groups { get; }
    public AdamW Optimizer { get; }
    internal Mixup? Mixup { get; }
    internal RandomErasing? Erasing { get; }

    /// <summary>A classifier holding a copy of <paramref name="mae"/>'s encoder (the in-memory route); its head is initialised from the
    /// run's seed, so a repeated run starts from the same weights.</summary>
    public static VitClassifier FromPretrained(MaskedAutoencoder mae, FineTuneOptions options) =>
        mae.CreateClassifier(options.NumClasses, options.GlobalPool, options.DropPath, options.Run.Seed);

    /// <summary>
    /// The official --finetune route: builds a classifier for <paramref name="spec"/> (whose image size may be
    /// larger than the pre-training one) and loads a pre-trained MAE's encoder into it (<see cref="PretrainedEncoder"/>):
    /// only head.* (and fc_norm.* with global pooling) may be missing. The head is trunc_normal(2e-5) from the
    /// classifier's own initialisation.
    /// </summary>
    public static (VitClassifier Model, LoadReport Report) LoadPretrained(MaeSpec spec, string weightsPath, int numClasses,
        bool globalPool = true, double dropPath = 0.1, long? seed = null, Action<string>? log = null)
    {
        var model = new VitClassifier(spec, numClasses, globalPool, dropPath, seed: seed);
        try
        {
            var report = PretrainedEncoder.Load(model, weightsPath, globalPool ? new[] { "head.weight", "head.bias", "fc_norm.weight",
                "fc_norm.bias" } : new[] { "head.weight", "head.bias" }, log);
            return (model, report);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The training transform of build_transform(is_train=True), timm's create_transform order: RandomResizedCrop (scale
    /// MinCropScale–1, bicubic) + flip + RandAugment (<paramref name="autoAugment"/>, skipped when "none"; fill timm's
    /// img_mean from <paramref name="normalization"/>) + normalise. Random erasing follows on the batch (<see cref="TrainingLoss"/>).
    /// </summary>
    public static IImageTransform TrainTransform(int size, int channels, Normalization normalization, double minCropScale = 0.08,
        string? autoAugment = RandAugmentConfig.FineTuneDefault)
    {
        var crop = new RandomResizedCrop(size, minCropScale, 1.0);
        var flip = new RandomHorizontalFlip(0.5);
        var normalize = new Normalize(normalization.Mean, normalization.Std);
        return RandAugmentConfig.Parse(autoAugment) is { } config
            ? new Compose(crop, flip, new RandAugment(config, RandAugment.FillFor(normalization, channels)), normalize)
            : new Compose(crop, flip, normalize);
    }

    /// <summary>
    /// Trains for <see cref="RunOptions.Epochs"/> epochs on <paramref name="train"/>, evaluating on
    /// <paramref name="val"/> (resize + centre crop). Normalisation defaults to the dataset's (<see cref="Normalization.For"/>).
    /// </summary>
    public ClassifierRunResult Run(IImageDataset train, IImageDataset val, Normalization? normalization = null,
        TextWriter? console = null, CancellationToken cancel = default)
    {
        normalization ??= Normalization.For(train);
        return new ClassifierRecipe("finetune", "fine-tune", Model, Optimizer, Model.parameters().Where(p => p.requires_grad).ToList(),
            LayerDecay.LrScales(Groups), Options, TrainingLoss, train, val, TrainTransform(Model.Spec.ImageSize, Model.Spec.Channels, normalization,
                Options.MinCropScale, Options.AutoAugment), normalization,
            Loop.Shard).RunIn(Loop, console, cancel);
    }

    /// <summary>
    /// One iteration's loss: random erasing (per image), Mixup/CutMix (or label smoothing alone), forward,
    /// soft-target cross-entropy. The draws depend only on (seed, epoch, step).
    /// </summary>
    public Tensor TrainingLoss(Tensor images, Tensor labels, int epoch, int step)
    {
        long seed = Options.Run.Seed;
        images = Devices.To(images, Device);   // the batch moves here, as late as possible; the labels stay on the CPU, where the targets are built
        if (Erasing is not null)
        {
            using var noise = Seeds.Generator(seed, Seeds.Streams.Mixup, epoch, step, 2);
            images = Erasing.Apply(images, Seeds.Random(seed, Seeds.Streams.Mixup, epoch, step, 1), noise);
        }
        Tensor targets;
        if (Mixup is not null)
            (images, targets, _) = Mixup.Apply(images, labels, Seeds.Random(seed, Seeds.Streams.Mixup, epoch, step, 0));
        else
            targets = Devices.To(Data.Mixup.SmoothOneHot(labels, Options.NumClasses, Options.LabelSmoothing), images.device);
        var logits = Model.forward(images);
        return SoftTargetCrossEntropy.Loss(logits, targets);
    }

    public void Dispose() => Optimizer.Dispose();
}

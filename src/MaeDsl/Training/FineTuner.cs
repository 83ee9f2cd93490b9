using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training;

/// <summary>
/// End-to-end fine-tuning as the official <c>main_finetune.py</c> + <c>engine_finetune.py</c>: a
/// <see cref="VitClassifier"/> (global pool + fc_norm by default, drop path rising over depth, head trunc_normal
/// 2e-5) holding the pre-trained encoder; AdamW over the layer-wise lr-decay groups of param_groups_lrd;
/// per-iteration warmup + cosine; random erasing, then Mixup/CutMix with label smoothing and soft-target
/// cross-entropy; top-1/top-5 evaluation after every epoch; checkpoints, resume, metrics.csv, eval.csv,
/// TensorBoard and progress as pre-training.
/// </summary>
public sealed class FineTuner : IDisposable
{
    /// <summary>Prepares a run of <paramref name="model"/> (already holding the pre-trained or random encoder).</summary>
    public FineTuner(VitClassifier model, FineTuneOptions options)
    {
        options.Validate();
        if (model.NumClasses != options.NumClasses)
            throw new ArgumentException($"FineTuner: the classifier has {model.NumClasses} classes, the options say {options.NumClasses}.", nameof(model));
        Model = model;
        Options = options;
        Schedule = new LrSchedule(options.AbsoluteLr, options.MinLr, options.WarmupEpochs, options.Epochs);
        Groups = LayerDecay.ParamGroups(model.named_parameters(), model.Depth, options.WeightDecay, options.LayerDecay);
        Optimizer = LayerDecay.CreateAdamW(Groups, options.AbsoluteLr);
        Mixup = options.MixupActive
            ? new Mixup(options.NumClasses, options.Mixup, options.Cutmix, options.MixupProb, options.MixupSwitchProb, options.LabelSmoothing)
            : null;
        Erasing = options.RandomErasing > 0 ? new RandomErasing(options.RandomErasing) : null;
    }

    public VitClassifier Model { get; }
    public FineTuneOptions Options { get; }
    public LrSchedule Schedule { get; }
    /// <summary>The layer-decay groups, one AdamW param group each, in the same order.</summary>
    public IReadOnlyList<LayerDecayGroup> Groups { get; }
    public AdamW Optimizer { get; }
    public Mixup? Mixup { get; }
    public RandomErasing? Erasing { get; }

    /// <summary>A classifier holding a copy of <paramref name="mae"/>'s encoder (the in-memory route).</summary>
    public static VitClassifier FromPretrained(MaskedAutoencoder mae, FineTuneOptions options) =>
        mae.CreateClassifier(options.NumClasses, options.GlobalPool, options.DropPath);

    /// <summary>
    /// The official --finetune route: builds a classifier for <paramref name="spec"/> (whose image size may be
    /// larger than the pre-training one), reads a pre-trained MAE's weights (.safetensors, or a .pth state_dict /
    /// official checkpoint), drops a head of another shape, interpolates pos_embed to the classifier's grid, loads
    /// non-strictly and checks, as the official code asserts, that only head.* (and fc_norm.* with global pooling)
    /// are missing. The head is trunc_normal(2e-5) from the classifier's own initialisation.
    /// </summary>
    public static (VitClassifier Model, LoadReport Report) LoadPretrained(MaeSpec spec, string weightsPath, int numClasses,
        bool globalPool = true, double dropPath = 0.1, long? seed = null, Action<string>? log = null)
    {
        var model = new VitClassifier(spec, numClasses, globalPool, dropPath, seed: seed);
        try
        {
            var report = LoadEncoder(model, weightsPath, globalPool ? new[] { "head.weight", "head.bias", "fc_norm.weight", "fc_norm.bias" } : new[] { "head.weight", "head.bias" }, log);
            return (model, report);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads a pre-trained checkpoint's encoder into <paramref name="model"/> by name (pos_embed interpolated,
    /// mis-shaped head dropped) and asserts that exactly <paramref name="allowedMissing"/> are missing.
    /// </summary>
    internal static LoadReport LoadEncoder(nn.Module model, string weightsPath, IReadOnlyCollection<string> allowedMissing, Action<string>? log)
    {
        var checkpoint = StateDicts.Read(weightsPath);
        try
        {
            var own = model.state_dict();
            foreach (var key in new[] { "head.weight", "head.bias" })
                if (checkpoint.TryGetValue(key, out var t) && (!own.TryGetValue(key, out var mine) || !mine.shape.SequenceEqual(t.shape)))
                {
                    log?.Invoke($"Removing key {key} from pretrained checkpoint");
                    checkpoint.Remove(key);
                    t.Dispose();
                }
            if (own.TryGetValue("pos_embed", out var pos) && checkpoint.ContainsKey("pos_embed"))
            {
                int grid = (int)Math.Round(Math.Sqrt(pos.shape[1] - 1));
                PosEmbedInterpolation.InterpolateInStateDict(checkpoint, grid, 1, log);
            }
            var report = StateDicts.Load(model, checkpoint, strict: false, weightsPath);
            log?.Invoke($"Loaded {weightsPath}: {report.Loaded.Count} keys; missing keys: [{string.Join(", ", report.Missing)}]; unexpected keys: {report.Unexpected.Count}");
            var missing = report.Missing.ToHashSet();
            if (!missing.SetEquals(allowedMissing))
                throw new StateDictMismatchException(
                    $"{weightsPath} is not a pre-trained encoder for {model.GetName()}: the missing keys must be exactly [{string.Join(", ", allowedMissing)}] " +
                    $"(as the official code asserts), got [{string.Join(", ", report.Missing)}].");
            return report;
        }
        finally { foreach (var t in checkpoint.Values) t.Dispose(); }
    }

    /// <summary>The training transform of build_transform(is_train=True) without RandAugment: RandomResizedCrop (scale MinCropScale–1, bicubic) + flip + normalise.</summary>
    public static IImageTransform TrainTransform(int size, Normalization normalization, double minCropScale = 0.08) =>
        Transforms.Pretrain(size, normalization, minCropScale);

    /// <summary>
    /// Trains for <see cref="ClassifierRunOptions.Epochs"/> epochs on <paramref name="train"/>, evaluating on
    /// <paramref name="val"/> (resize + centre crop). Normalisation defaults to the dataset's (<see cref="Normalization.For"/>).
    /// </summary>
    public ClassifierRunResult Run(IImageDataset train, IImageDataset val, Normalization? normalization = null,
        TextWriter? console = null, CancellationToken cancel = default)
    {
        int size = Model.Spec.ImageSize;
        normalization ??= Normalization.For(train);
        var trainLoader = new BatchLoader(train, Options.BatchSize, TrainTransform(size, normalization, Options.MinCropScale),
            shuffle: true, dropLast: true, seed: Options.Seed, workers: Options.Workers);
        var valLoader = new BatchLoader(val, Options.BatchSize, Transforms.Eval(size, normalization, Options.EvalCropPct),
            shuffle: false, dropLast: false, seed: Options.Seed, workers: Options.Workers);
        var config = Options.ToJson();
        config["runner"] = "finetune";
        config["lr"] = Options.AbsoluteLr;
        config["effective_batch"] = Options.BatchSize * Options.AccumIter;
        config["spec"] = System.Text.Json.JsonSerializer.SerializeToNode(Model.Spec);
        config["train_images"] = train.Count;
        config["val_images"] = val.Count;
        var setup = new ClassifierTraining.Setup("fine-tune", $"{nameof(VitClassifier)}/finetune", Options.OutputDir, Options.Epochs,
            Options.BatchSize, Options.AccumIter, Options.Seed, Schedule, Options.ClipGrad, Options.CheckpointPeriod, Options.EvalPeriod,
            Options.TensorBoard, Options.Resume, config, trainLoader, valLoader);
        var trainable = Model.parameters().Where(p => p.requires_grad).ToList();
        return ClassifierTraining.Run(setup, Model, Optimizer, trainable,
            lr => LayerDecay.SetLearningRate(Optimizer, Groups, lr), TrainingLoss, console, cancel);
    }

    /// <summary>
    /// One iteration's loss: random erasing (per image), Mixup/CutMix (or label smoothing alone), forward,
    /// soft-target cross-entropy. The draws depend only on (seed, epoch, step).
    /// </summary>
    public Tensor TrainingLoss(Tensor images, Tensor labels, int epoch, int step)
    {
        if (Erasing is not null)
        {
            using var noise = Data.Seeds.Generator(Options.Seed, Data.Seeds.Streams.Mixup, epoch, step, 2);
            images = Erasing.Apply(images, Data.Seeds.Random(Options.Seed, Data.Seeds.Streams.Mixup, epoch, step, 1), noise);
        }
        Tensor targets;
        if (Mixup is not null)
            (images, targets, _) = Mixup.Apply(images, labels, Data.Seeds.Random(Options.Seed, Data.Seeds.Streams.Mixup, epoch, step, 0));
        else
            targets = Training.Mixup.SmoothOneHot(labels, Options.NumClasses, Options.LabelSmoothing);
        var logits = Model.forward(images);
        return SoftTargetCrossEntropy.Loss(logits, targets);
    }

    public void Dispose() => Optimizer.Dispose();
}

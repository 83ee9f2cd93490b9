// LinearProbe: the linear-probing recipe (main_linprobe.py) run by the training loop.
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Training.Loop;
using MaeDsl.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training.LinearProbing;

/// <summary>
/// Linear probing as the official <c>main_linprobe.py</c>: the encoder is frozen (every parameter but the head has
/// requires_grad false and stays out of the optimizer); the features are the cls token after the encoder's norm;
/// the head is <c>Sequential(BatchNorm1d(W, affine=false, eps=1e-6), Linear(W, C))</c> (state_dict names head.0.*,
/// head.1.*), the Linear drawn from trunc_normal(std 0.01) with zero bias; LARS with weight decay 0; cross-entropy;
/// evaluation in eval mode (BatchNorm's running statistics). The <see cref="TrainingLoop"/> does the rest.
/// </summary>
public sealed class LinearProbe : IDisposable
{
    public LinearProbe(VitClassifier model, LinearProbeOptions options)
    {
        options.Validate();
        ClassifierRecipe.RequireClasses(model, options, nameof(LinearProbe));
        if (model.Head is not Sequential)
            throw new ArgumentException(
                "LinearProbe: the classifier's head must be the probe head (BatchNorm1d + Linear); build it with LinearProbe.CreateModel or LoadPretrained.",
                nameof(model));
        Device = Devices.Resolve(options.Run.Device);
        Devices.MoveModel(model, Device);   // before the optimizer holds the parameters
        Model = model;
        Options = options;
        Freeze(model);
        HeadParameters = model.named_parameters().Where(np => np.name.StartsWith("head.", StringComparison.Ordinal)).Select(np => np.parameter).ToList();
        Loop = new TrainingLoop(options.Run);
        Optimizer = new Lars(HeadParameters, lr: options.Run.AbsoluteLr, weightDecay: options.Run.WeightDecay);
    }

    public VitClassifier Model { get; }
    /// <summary>The device the model trains on (<see cref="RunOptions.Device"/>).</summary>
    public Device Device { get; }
    public LinearProbeOptions Options { get; }
    internal TrainingLoop Loop { get; }
    public LrSchedule Schedule => Loop.Schedule;
    /// <summary>The only parameters the optimizer sees: head.1.weight and head.1.bias.</summary>
    public IReadOnlyList<Parameter> HeadParameters { get; }
    internal Lars Optimizer { get; }

    /// <summary>The probe head: BatchNorm1d(width, affine=false, eps=1e-6) then Linear(width, numClasses) with trunc_normal(0.01) weight and zero
    /// bias.</summary>
    public static Sequential CreateHead(int width, int numClasses, long seed)
    {
        var bn = nn.BatchNorm1d(width, eps: 1e-6, affine: false);
        var linear = nn.Linear(width, numClasses);
        using var g = new torch.Generator((ulong)seed);
        Init.TruncNormal(linear.weight!, 0.01, g);
        Init.Constant(linear.bias!, 0);
        return nn.Sequential(("0", (nn.Module<Tensor, Tensor>)bn), ("1", linear));
    }

    /// <summary>A probe classifier for <paramref name="spec"/> with a freshly (randomly) initialised encoder.</summary>
    public static VitClassifier CreateModel(MaeSpec spec, LinearProbeOptions options, long seed = 0) =>
        new(spec, options.NumClasses, options.GlobalPool, dropPath: 0.0, head: CreateHead(spec.EncoderWidth, options.NumClasses, seed), seed: seed);

    /// <summary>A probe classifier holding a copy of <paramref name="mae"/>'s encoder (patch_embed, cls_token, pos_embed, blocks, norm).</summary>
    public static VitClassifier CreateModel(MaskedAutoencoder mae, LinearProbeOptions options, long seed = 0)
    {
        var model = CreateModel(mae.Spec, options, seed);
        model.CopyEncoderFrom(mae);
        return model;
    }

    /// <summary>
    /// The official --finetune route for the probe: loads a pre-trained MAE's weights file into a probe classifier;
    /// only the head (and fc_norm with global pooling) may be missing.
    /// </summary>
    public static (VitClassifier Model, LoadReport Report) LoadPretrained(MaeSpec spec, string weightsPath, LinearProbeOptions options,
        long seed = 0, Action<string>? log = null)
    {
        var model = CreateModel(spec, options, seed);
        try
        {
            var allowed = model.state_dict().Keys.Where(k => k.StartsWith("head.", StringComparison.Ordinal) || k.StartsWith("fc_norm.",
                StringComparison.Ordinal)).ToList();
            return (model, PretrainedEncoder.Load(model, weightsPath, allowed, log));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>requires_grad false for every parameter outside the head (the official "freeze all but the head").</summary>
    public static void Freeze(VitClassifier model)
    {
        foreach (var (name, p) in model.named_parameters())
            p.requires_grad = name.StartsWith("head.", StringComparison.Ordinal);
    }

    /// <summary>Trains the head for <see cref="RunOptions.Epochs"/> epochs and evaluates after every <see cref="ClassifierOptions.EvalPeriod"/>.</summary>
    public ClassifierRunResult Run(IImageDataset train, IImageDataset val, Normalization? normalization = null,
        TextWriter? console = null, CancellationToken cancel = default)
    {
        normalization ??= Normalization.For(train);
        return new ClassifierRecipe("linprobe", "linear probe", Model, Optimizer, HeadParameters, null, Options, TrainingLoss,
            train, val, Transforms.Pretrain(Model.Spec.ImageSize, normalization, Options.MinCropScale), normalization, Loop.Shard)
            .RunIn(Loop, console, cancel);
    }

    /// <summary>One iteration's loss: cross-entropy of the head on the frozen encoder's features.</summary>
    public Tensor TrainingLoss(Tensor images, Tensor labels, int epoch, int step)
    {
        Tensor features;
        using (no_grad()) features = Model.ForwardFeatures(images);   // the batch moves to the model's device there
        return nn.functional.cross_entropy(Model.Head.forward(features), Devices.To(labels, Device));
    }

    public void Dispose() => Optimizer.Dispose();
}

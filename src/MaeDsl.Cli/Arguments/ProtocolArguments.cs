// The evaluation protocols' options of `results` and `ablate`, declared once: the labelled and held-out subsets, the
// linear probe's recipe and the fine-tune's (for the MAE encoder and for training from scratch).
using System.CommandLine;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>
/// The options of the downstream protocols a command measures an encoder with, and the recipes they give. The defaults are
/// the tiny presets (<see cref="RecipePresets.TinyFineTune"/>, <see cref="RecipePresets.TinyLinearProbe"/>) unless the command
/// passes its own budget.
/// </summary>
internal sealed class ProtocolArguments(int? finetuneEpochs = null, int? linprobeEpochs = null)
{
    static readonly FineTuneOptions Ft = new();
    public readonly Option<int?> LabelledLimit = new("--labelled-limit")
    {
        Description = "k-NN, probes and fine-tuning use N labelled training images, a class-balanced subset drawn with --seed (default: --train-limit, " +
            "which also limits pre-training)",
    };
    public readonly Option<int?> TestLimit = new("--test-limit") { Description = "Evaluate on N held-out images only (a class-balanced subset drawn with " +
        "--seed)" };
    public readonly Option<int> FinetuneEpochs = new("--finetune-epochs") { DefaultValueFactory = _ => finetuneEpochs
        ?? RecipePresets.TinyFineTune.Run.Epochs };
    public readonly Option<int> FinetuneBatch = new("--finetune-batch") { DefaultValueFactory = _ => RecipePresets.TinyFineTune.Run.BatchSize };
    public readonly Option<double> FinetuneWarmup = new("--finetune-warmup") { DefaultValueFactory = _ => RecipePresets.TinyFineTune.Run.WarmupEpochs };
    public readonly Option<double> FinetuneMixup = new("--finetune-mixup") { Description = "Mixup alpha of fine-tuning and scratch (0 = " +
        "off)", DefaultValueFactory = _ => Ft.Mixup };
    public readonly Option<double> FinetuneCutmix = new("--finetune-cutmix") { Description = "CutMix alpha of fine-tuning and scratch (0 = " +
        "off)", DefaultValueFactory = _ => Ft.Cutmix };
    public readonly Option<double> FinetuneReprob = new("--finetune-reprob") { Description = "Random erasing probability of fine-tuning and " +
        "scratch", DefaultValueFactory = _ => Ft.RandomErasing };
    public readonly Option<string> FinetuneAa = new("--finetune-aa") { Description = "RandAugment of fine-tuning and scratch (timm's config string; none = " +
        "off)", DefaultValueFactory = _ => Ft.AutoAugment };
    public readonly Option<double> FinetuneCrop = new("--finetune-min-crop-scale")
    {
        Description = "RandomResizedCrop's smallest area fraction for fine-tuning and scratch", DefaultValueFactory = _ => Ft.MinCropScale,
    };
    public readonly Option<double> ScratchLayerDecay = new("--scratch-layer-decay")
    {
        Description = "Layer decay of the from-scratch runs (default 1 = none: layer decay protects pre-trained layers, and the paper's from-scratch ViT " +
            "recipe has none)",
        DefaultValueFactory = _ => 1.0,
    };
    public readonly Option<int> LinprobeEpochs = new("--linprobe-epochs") { DefaultValueFactory = _ => linprobeEpochs
        ?? RecipePresets.TinyLinearProbe.Run.Epochs };
    public readonly Option<int> LinprobeBatch = new("--linprobe-batch") { DefaultValueFactory = _ => RecipePresets.TinyLinearProbe.Run.BatchSize };
    public readonly Option<double> LinprobeLr = new("--linprobe-lr")
    {
        Description = "Absolute LARS lr (the paper's 6.4 = blr 0.1 × 16384 / 256)", DefaultValueFactory = _ => RecipePresets.TinyLinearProbe.Run.Lr!.Value,
    };
    public readonly Option<double> LinprobeWarmup = new("--linprobe-warmup") { DefaultValueFactory = _ => RecipePresets.TinyLinearProbe.Run.WarmupEpochs };
    public readonly Option<double> LinprobeCrop = new("--linprobe-min-crop-scale")
    {
        Description = "RandomResizedCrop's smallest area fraction for the linear probes", DefaultValueFactory = _ => new LinearProbeOptions().MinCropScale,
    };

    public IEnumerable<Option> Options =>
    [
        LabelledLimit, TestLimit, FinetuneEpochs, FinetuneBatch, FinetuneWarmup, FinetuneMixup, FinetuneCutmix, FinetuneReprob, FinetuneAa, FinetuneCrop,
        ScratchLayerDecay, LinprobeEpochs, LinprobeBatch, LinprobeLr, LinprobeWarmup, LinprobeCrop,
    ];

    public void AddTo(Command command)
    {
        foreach (var o in Options) command.Options.Add(o);
    }

    /// <summary>The protocols' recipes, every value checked once, here.</summary>
    /// <param name="allowNoFineTune">Whether --finetune-epochs 0 (no fine-tuning) is allowed.</param>
    public Protocols Read(ParseResult parse, int numClasses, double evalCropPct, RunOptions pretrainRun, int threads, bool allowNoFineTune = false)
    {
        int? testLimit = parse.GetValue(TestLimit), labelled = parse.GetValue(LabelledLimit);
        OptionCheck.Require(testLimit is null or >= 1, "--test-limit", testLimit, "must be >= 1");
        OptionCheck.Require(labelled is null or >= 1, "--labelled-limit", labelled, "must be >= 1");
        int fEpochs = parse.GetValue(FinetuneEpochs), lEpochs = parse.GetValue(LinprobeEpochs);
        OptionCheck.Require(lEpochs >= 1, "--linprobe-epochs", lEpochs, "must be >= 1");
        OptionCheck.Require(fEpochs >= (allowNoFineTune ? 0 : 1), "--finetune-epochs", fEpochs,
            allowNoFineTune ? "must be >= 0 (0 = no fine-tuning)" : "must be >= 1");
        OptionCheck.Require(parse.GetValue(LinprobeBatch) >= 2, "--linprobe-batch", parse.GetValue(LinprobeBatch), "must be >= 2");
        OptionCheck.Require(parse.GetValue(FinetuneBatch) >= 1, "--finetune-batch", parse.GetValue(FinetuneBatch), "must be >= 1");
        double lr = parse.GetValue(LinprobeLr);
        OptionCheck.Require(lr > 0 && double.IsFinite(lr), "--linprobe-lr", lr, "must be a finite number > 0");
        OptionCheck.Require(parse.GetValue(LinprobeWarmup) >= 0, "--linprobe-warmup", parse.GetValue(LinprobeWarmup), "must be >= 0");
        OptionCheck.Require(parse.GetValue(FinetuneWarmup) >= 0, "--finetune-warmup", parse.GetValue(FinetuneWarmup), "must be >= 0");
        OptionCheck.Require(parse.GetValue(FinetuneMixup) >= 0, "--finetune-mixup", parse.GetValue(FinetuneMixup), "must be >= 0");
        OptionCheck.Require(parse.GetValue(FinetuneCutmix) >= 0, "--finetune-cutmix", parse.GetValue(FinetuneCutmix), "must be >= 0");
        OptionCheck.Require(parse.GetValue(FinetuneReprob) is >= 0 and <= 1, "--finetune-reprob", parse.GetValue(FinetuneReprob), "must be in [0, 1]");
        OptionCheck.Require(parse.GetValue(FinetuneCrop) is > 0 and <= 1, "--finetune-min-crop-scale", parse.GetValue(FinetuneCrop), "must be in (0, 1]");
        OptionCheck.Require(parse.GetValue(LinprobeCrop) is > 0 and <= 1, "--linprobe-min-crop-scale", parse.GetValue(LinprobeCrop), "must be in (0, 1]");
        OptionCheck.Require(parse.GetValue(ScratchLayerDecay) is > 0 and <= 1, "--scratch-layer-decay", parse.GetValue(ScratchLayerDecay), "must be in (0, 1]");

        long seed = pretrainRun.Seed;
        var linearProbe = new LinearProbeOptions
        {
            NumClasses = numClasses, MinCropScale = parse.GetValue(LinprobeCrop), EvalCropPct = evalCropPct, EvalPeriod = lEpochs,
            Run = RecipePresets.OfficialLinearProbeRun with
            {
                Epochs = lEpochs, BatchSize = parse.GetValue(LinprobeBatch), Lr = lr, WarmupEpochs = parse.GetValue(LinprobeWarmup),
                Seed = seed, CheckpointPeriod = lEpochs, TensorBoard = false, Threads = threads, Workers = Environment.ProcessorCount,
                Device = pretrainRun.Device,
            },
        };
        var fineTune = new FineTuneOptions
        {
            NumClasses = numClasses, EvalCropPct = evalCropPct,
            Run = RecipePresets.OfficialFineTuneRun with
            {
                Epochs = Math.Max(fEpochs, 1), BatchSize = parse.GetValue(FinetuneBatch), WarmupEpochs = parse.GetValue(FinetuneWarmup), Seed = seed,
                TensorBoard = false, Threads = threads, Workers = Environment.ProcessorCount, Device = pretrainRun.Device,
            },
            Mixup = parse.GetValue(FinetuneMixup), Cutmix = parse.GetValue(FinetuneCutmix), RandomErasing = parse.GetValue(FinetuneReprob),
            AutoAugment = parse.GetValue(FinetuneAa)!, MinCropScale = parse.GetValue(FinetuneCrop),
        };
        var scratch = fineTune with { LayerDecay = parse.GetValue(ScratchLayerDecay) };
        fineTune.Validate();
        scratch.Validate();
        linearProbe.Validate();
        return new Protocols(linearProbe, fEpochs == 0 ? null : fineTune, fEpochs == 0 ? null : scratch, labelled, testLimit);
    }
}

/// <summary>The protocols' recipes as <see cref="ProtocolArguments.Read"/> built them.</summary>
/// <param name="FineTune">Null with --finetune-epochs 0.</param>
/// <param name="Scratch">The fine-tune recipe with the from-scratch layer decay.</param>
internal sealed record Protocols(LinearProbeOptions LinearProbe, FineTuneOptions? FineTune, FineTuneOptions? Scratch, int? LabelledLimit, int? TestLimit);

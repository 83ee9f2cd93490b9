using System.Text.Json.Nodes;

namespace MaeDsl.Training;

/// <summary>
/// End-to-end fine-tuning, with the defaults of the official <c>main_finetune.py</c> and its documented command
/// (mixup 0.8, cutmix 1.0, label smoothing 0.1, random erasing 0.25, drop path 0.1, layer decay 0.75, blr 1e-3,
/// AdamW wd 0.05, warmup 5 epochs, min lr 1e-6, global pooling). RandAugment (<c>--aa rand-m9-mstd0.5-inc1</c>)
/// is not implemented: the training transform is RandomResizedCrop (scale 0.08–1, bicubic) + flip + normalise.
/// FINETUNE.md's ViT-B recipe (blr 5e-4, layer decay 0.65, 100 epochs) is <see cref="VitBaseRecipe"/>.
/// </summary>
public sealed record FineTuneOptions
{
    /// <summary>Number of classes of the head (required).</summary>
    public int NumClasses { get; init; }
    public int Epochs { get; init; } = 50;
    /// <summary>Batch size per iteration (official per-GPU 64).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Gradient accumulation: the optimizer steps every AccumIter iterations; effective batch = BatchSize × AccumIter.</summary>
    public int AccumIter { get; init; } = 1;
    /// <summary>Absolute lr; null means BaseLr × effective batch / 256.</summary>
    public double? Lr { get; init; }
    public double BaseLr { get; init; } = 1e-3;
    public double LayerDecay { get; init; } = 0.75;
    public double WeightDecay { get; init; } = 0.05;
    public double MinLr { get; init; } = 1e-6;
    public double WarmupEpochs { get; init; } = 5;
    public double DropPath { get; init; } = 0.1;
    /// <summary>Max gradient norm; null = no clipping (the official default).</summary>
    public double? ClipGrad { get; init; }
    public double LabelSmoothing { get; init; } = 0.1;
    /// <summary>Mixup alpha; 0 disables mixup.</summary>
    public double Mixup { get; init; } = 0.8;
    /// <summary>CutMix alpha; 0 disables CutMix.</summary>
    public double Cutmix { get; init; } = 1.0;
    public double MixupProb { get; init; } = 1.0;
    public double MixupSwitchProb { get; init; } = 0.5;
    /// <summary>Random-erasing probability (mode pixel, one box); 0 disables it.</summary>
    public double RandomErasing { get; init; } = 0.25;
    /// <summary>Lower end of RandomResizedCrop's area range in the training transform (timm's default 0.08).</summary>
    public double MinCropScale { get; init; } = 0.08;
    /// <summary>Global average pooling + fc_norm (true, default) or the cls token + norm.</summary>
    public bool GlobalPool { get; init; } = true;
    /// <summary>Evaluation: shorter side resized to size / CropPct, then centre crop (0.875 for ImageFolder data; 1 keeps native-size images).</summary>
    public double EvalCropPct { get; init; } = 0.875;
    public long Seed { get; init; }
    /// <summary>Folder of checkpoints, metrics.csv, eval.csv and TensorBoard events.</summary>
    public string OutputDir { get; init; } = "output_finetune";
    /// <summary>A numbered checkpoint is kept every this many epochs (and at the end); checkpoint-last is written every epoch.</summary>
    public int CheckpointPeriod { get; init; } = 1;
    public bool TensorBoard { get; init; } = true;
    /// <summary>A checkpoint (.ckpt of this runner) to resume from.</summary>
    public string? Resume { get; init; }
    /// <summary>Evaluate on the validation set after every this many epochs (and after the last).</summary>
    public int EvalPeriod { get; init; } = 1;
    /// <summary>Threads that decode/transform a batch (0 = all cores).</summary>
    public int Workers { get; init; }

    /// <summary>The absolute lr: Lr, or BaseLr × BatchSize × AccumIter / 256.</summary>
    public double AbsoluteLr => Lr ?? BaseLr * BatchSize * AccumIter / 256.0;
    public bool MixupActive => Mixup > 0 || Cutmix > 0;

    /// <summary>FINETUNE.md's ViT-B/16 recipe: blr 5e-4, layer decay 0.65, 100 epochs, drop path 0.1, wd 0.05.</summary>
    public static FineTuneOptions VitBaseRecipe(int numClasses) => new() { NumClasses = numClasses, BaseLr = 5e-4, LayerDecay = 0.65, Epochs = 100 };

    /// <summary>Throws an ArgumentException naming the first option out of range.</summary>
    public void Validate()
    {
        static void Require(bool ok, string name, object value, string expected)
        {
            if (!ok) throw new ArgumentException($"FineTuneOptions.{name} = {value}: expected {expected}.", name);
        }
        Require(NumClasses >= 1, nameof(NumClasses), NumClasses, "≥ 1");
        Require(Epochs >= 1, nameof(Epochs), Epochs, "≥ 1");
        Require(BatchSize >= 1, nameof(BatchSize), BatchSize, "≥ 1");
        Require(!MixupActive || BatchSize % 2 == 0, nameof(BatchSize), BatchSize, "an even number with mixup/CutMix on (timm pairs image i with B−1−i)");
        Require(AccumIter >= 1, nameof(AccumIter), AccumIter, "≥ 1");
        Require(Lr is null || Lr >= 0, nameof(Lr), Lr ?? 0, "≥ 0");
        Require(BaseLr >= 0, nameof(BaseLr), BaseLr, "≥ 0");
        Require(LayerDecay > 0 && LayerDecay <= 1, nameof(LayerDecay), LayerDecay, "in (0, 1]");
        Require(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "≥ 0");
        Require(MinLr >= 0 && MinLr <= AbsoluteLr, nameof(MinLr), MinLr, $"in [0, lr = {AbsoluteLr}]");
        Require(WarmupEpochs >= 0 && WarmupEpochs < Epochs, nameof(WarmupEpochs), WarmupEpochs, $"in [0, Epochs = {Epochs})");
        Require(DropPath >= 0 && DropPath < 1, nameof(DropPath), DropPath, "in [0, 1)");
        Require(ClipGrad is null || ClipGrad > 0, nameof(ClipGrad), ClipGrad ?? 0, "> 0 or null");
        Require(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), LabelSmoothing, "in [0, 1)");
        Require(Mixup >= 0, nameof(Mixup), Mixup, "≥ 0");
        Require(Cutmix >= 0, nameof(Cutmix), Cutmix, "≥ 0");
        Require(MixupProb is >= 0 and <= 1, nameof(MixupProb), MixupProb, "in [0, 1]");
        Require(MixupSwitchProb is >= 0 and <= 1, nameof(MixupSwitchProb), MixupSwitchProb, "in [0, 1]");
        Require(RandomErasing is >= 0 and <= 1, nameof(RandomErasing), RandomErasing, "in [0, 1]");
        Require(MinCropScale > 0 && MinCropScale <= 1, nameof(MinCropScale), MinCropScale, "in (0, 1]");
        Require(EvalCropPct > 0 && EvalCropPct <= 1, nameof(EvalCropPct), EvalCropPct, "in (0, 1]");
        Require(CheckpointPeriod >= 1, nameof(CheckpointPeriod), CheckpointPeriod, "≥ 1");
        Require(EvalPeriod >= 1, nameof(EvalPeriod), EvalPeriod, "≥ 1");
        Require(Workers >= 0, nameof(Workers), Workers, "≥ 0");
        Require(!string.IsNullOrWhiteSpace(OutputDir), nameof(OutputDir), OutputDir, "a folder");
    }

    /// <summary>The options as JSON (stored in every checkpoint).</summary>
    public JsonObject ToJson() => (JsonObject)System.Text.Json.JsonSerializer.SerializeToNode(this)!;
}

namespace MaeDsl.Training;

/// <summary>
/// End-to-end fine-tuning, with the defaults of the official <c>main_finetune.py</c> and its documented command
/// (mixup 0.8, cutmix 1.0, label smoothing 0.1, random erasing 0.25, drop path 0.1, layer decay 0.75, blr 1e-3,
/// AdamW wd 0.05, warmup 5 epochs, min lr 1e-6, global pooling). RandAugment (<c>--aa rand-m9-mstd0.5-inc1</c>)
/// is not implemented: the training transform is RandomResizedCrop (scale 0.08–1, bicubic) + flip + normalise.
/// FINETUNE.md's ViT-B recipe (blr 5e-4, layer decay 0.65, 100 epochs) is <see cref="VitBaseRecipe"/>.
/// </summary>
public sealed record FineTuneOptions : ClassifierRunOptions
{
    public FineTuneOptions()
    {
        Epochs = 50;
        BatchSize = 64;          // official per-GPU 64
        BaseLr = 1e-3;
        WeightDecay = 0.05;
        MinLr = 1e-6;
        WarmupEpochs = 5;
        GlobalPool = true;
        OutputDir = "output_finetune";
    }

    public double LayerDecay { get; init; } = 0.75;
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

    public bool MixupActive => Mixup > 0 || Cutmix > 0;

    /// <summary>FINETUNE.md's ViT-B/16 recipe: blr 5e-4, layer decay 0.65, 100 epochs, drop path 0.1, wd 0.05.</summary>
    public static FineTuneOptions VitBaseRecipe(int numClasses) => new() { NumClasses = numClasses, BaseLr = 5e-4, LayerDecay = 0.65, Epochs = 100 };

    protected override void Validate(Action<bool, string, object, string> require)
    {
        base.Validate(require);
        require(!MixupActive || BatchSize % 2 == 0, nameof(BatchSize), BatchSize, "an even number with mixup/CutMix on (timm pairs image i with B−1−i)");
        require(LayerDecay > 0 && LayerDecay <= 1, nameof(LayerDecay), LayerDecay, "in (0, 1]");
        require(DropPath >= 0 && DropPath < 1, nameof(DropPath), DropPath, "in [0, 1)");
        require(ClipGrad is null || ClipGrad > 0, nameof(ClipGrad), ClipGrad ?? 0, "> 0 or null");
        require(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), LabelSmoothing, "in [0, 1)");
        require(Mixup >= 0, nameof(Mixup), Mixup, "≥ 0");
        require(Cutmix >= 0, nameof(Cutmix), Cutmix, "≥ 0");
        require(MixupProb is >= 0 and <= 1, nameof(MixupProb), MixupProb, "in [0, 1]");
        require(MixupSwitchProb is >= 0 and <= 1, nameof(MixupSwitchProb), MixupSwitchProb, "in [0, 1]");
        require(RandomErasing is >= 0 and <= 1, nameof(RandomErasing), RandomErasing, "in [0, 1]");
    }
}

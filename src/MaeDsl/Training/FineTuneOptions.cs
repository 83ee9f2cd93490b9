// FineTuneOptions: the fine-tuning recipe's own options (main_finetune.py): layer decay, drop path, Mixup/CutMix,
// label smoothing, random erasing, RandAugment.
namespace MaeDsl.Training;

/// <summary>
/// End-to-end fine-tuning, with the defaults of the official <c>main_finetune.py</c> and its documented command
/// (<see cref="RecipePresets.OfficialFineTuneRun"/>: blr 1e-3, AdamW wd 0.05, warmup 5 epochs, min lr 1e-6; mixup 0.8,
/// cutmix 1.0, label smoothing 0.1, random erasing 0.25, drop path 0.1, layer decay 0.75, global pooling).
/// The training transform is timm's create_transform(is_training) as main_finetune.py builds it: RandomResizedCrop
/// (scale 0.08–1, bicubic) + flip + RandAugment (<c>--aa rand-m9-mstd0.5-inc1</c>, <see cref="Data.RandAugment"/>) + normalise,
/// then random erasing on the batch. FINETUNE.md's ViT-B recipe is <see cref="RecipePresets.VitBaseFineTune"/>.
/// </summary>
public sealed record FineTuneOptions : ClassifierOptions
{
    public FineTuneOptions() => GlobalPool = true;

    public override RunOptions Run { get; init; } = RecipePresets.OfficialFineTuneRun;
    public double LayerDecay { get; init; } = 0.75;
    public double DropPath { get; init; } = 0.1;
    public double LabelSmoothing { get; init; } = 0.1;
    /// <summary>Mixup alpha; 0 disables mixup.</summary>
    public double Mixup { get; init; } = 0.8;
    /// <summary>CutMix alpha; 0 disables CutMix.</summary>
    public double Cutmix { get; init; } = 1.0;
    public double MixupProb { get; init; } = 1.0;
    public double MixupSwitchProb { get; init; } = 0.5;
    /// <summary>Random-erasing probability (mode pixel, one box); 0 disables it.</summary>
    public double RandomErasing { get; init; } = 0.25;
    /// <summary>timm's RandAugment config string (<c>--aa</c>, grammar of <see cref="Data.RandAugmentConfig"/>); "none" or empty disables it.</summary>
    public string AutoAugment { get; init; } = Data.RandAugmentConfig.FineTuneDefault;

    [System.Text.Json.Serialization.JsonIgnore] public bool MixupActive => Mixup > 0 || Cutmix > 0;

    protected override void ValidateOwn()
    {
        OptionCheck.Require(!MixupActive || Run.BatchSize % 2 == 0, "--batch", Run.BatchSize,
            "must be even with mixup/CutMix on (timm pairs image i with B-1-i)");
        OptionCheck.Require(LayerDecay > 0 && LayerDecay <= 1, "--layer-decay", LayerDecay, "must be in (0, 1]");
        OptionCheck.Require(DropPath >= 0 && DropPath < 1, "--drop-path", DropPath, "must be in [0, 1)");
        OptionCheck.Require(LabelSmoothing >= 0 && LabelSmoothing < 1, "--smoothing", LabelSmoothing, "must be in [0, 1)");
        OptionCheck.Require(Mixup >= 0, "--mixup", Mixup, "must be >= 0");
        OptionCheck.Require(Cutmix >= 0, "--cutmix", Cutmix, "must be >= 0");
        OptionCheck.Require(MixupProb is >= 0 and <= 1, "--mixup-prob", MixupProb, "must be in [0, 1]");
        OptionCheck.Require(MixupSwitchProb is >= 0 and <= 1, "--mixup-switch-prob", MixupSwitchProb, "must be in [0, 1]");
        OptionCheck.Require(RandomErasing is >= 0 and <= 1, "--reprob", RandomErasing, "must be in [0, 1]");
        OptionCheck.Require(Data.RandAugmentConfig.TryParse(AutoAugment, out _, out string? aaError), "--aa", AutoAugment, aaError ?? "");
    }
}

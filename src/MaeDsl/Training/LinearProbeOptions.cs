// LinearProbeOptions: the linear-probing recipe (main_linprobe.py); it adds nothing to ClassifierOptions but its defaults.
namespace MaeDsl.Training;

/// <summary>
/// Linear probing with the defaults of the official <c>main_linprobe.py</c> (<see cref="RecipePresets.OfficialLinearProbeRun"/>):
/// frozen encoder, cls-token features after the encoder's norm, head BatchNorm1d(affine=false, eps 1e-6) + Linear,
/// LARS (momentum 0.9, trust 0.001) with weight decay 0, blr 0.1, 10 warmup epochs then cosine to min lr 0, 90 epochs,
/// batch 512 (the script's per-GPU default), training augmentation RandomResizedCrop (scale 0.08–1) + flip.
/// </summary>
public sealed record LinearProbeOptions : ClassifierOptions
{
    public LinearProbeOptions() => GlobalPool = false;   // the official linear probe uses the cls token; true pools the patch tokens + fc_norm

    public override RunOptions Run { get; init; } = RecipePresets.OfficialLinearProbeRun;

    protected override void ValidateOwn() =>
        OptionCheck.Require(Run.BatchSize >= 2, "--batch", Run.BatchSize, "must be >= 2 (BatchNorm1d needs more than one sample per batch)");
}

// ClassifierOptions: what fine-tuning and linear probing add to RunOptions (classes, pooling, crops, evaluation).
namespace MaeDsl.Training;

/// <summary>
/// The options of the two classifier recipes beyond <see cref="Run"/>: the number of classes, the pooling, the
/// training crop range and the evaluation (resize + centre crop, how often). Each derived record adds its own.
/// </summary>
public abstract record ClassifierOptions
{
    public abstract RunOptions Run { get; init; }
    /// <summary>Number of classes of the head (required).</summary>
    public int NumClasses { get; init; }
    /// <summary>Global average pooling + fc_norm, or the cls token + norm.</summary>
    public bool GlobalPool { get; init; }
    /// <summary>Lower end of RandomResizedCrop's area range in the training transform (--min-crop-scale; timm's default 0.08).</summary>
    public double MinCropScale { get; init; } = 0.08;
    /// <summary>Evaluation: shorter side resized to size / CropPct, then centre crop (0.875 for ImageFolder data; 1 keeps native-size images).</summary>
    public double EvalCropPct { get; init; } = 0.875;
    /// <summary>Evaluate on the validation set after every this many epochs (and after the last).</summary>
    public int EvalPeriod { get; init; } = 1;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        Run.Validate();
        OptionCheck.Require(NumClasses >= 1, "--num-classes", NumClasses, "must be >= 1");
        OptionCheck.Require(MinCropScale > 0 && MinCropScale <= 1, "--min-crop-scale", MinCropScale, "must be in (0, 1]");
        OptionCheck.Require(EvalCropPct > 0 && EvalCropPct <= 1, "--eval-crop-pct", EvalCropPct, "must be in (0, 1]");
        OptionCheck.Require(EvalPeriod >= 1, "--eval-every", EvalPeriod, "must be >= 1");
        ValidateOwn();
    }

    /// <summary>The derived record's own checks.</summary>
    protected abstract void ValidateOwn();
}

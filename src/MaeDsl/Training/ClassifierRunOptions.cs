using System.Text.Json.Nodes;

namespace MaeDsl.Training;

/// <summary>
/// What fine-tuning and linear probing share: the classes, the schedule (lr = blr × effective batch / 256,
/// warmup then cosine to MinLr), augmentation crop range, evaluation, and where the run writes.
/// Each derived record sets the defaults of its official script.
/// </summary>
public abstract record ClassifierRunOptions
{
    /// <summary>Number of classes of the head (required).</summary>
    public int NumClasses { get; init; }
    public int Epochs { get; init; }
    /// <summary>Batch size per iteration.</summary>
    public int BatchSize { get; init; }
    /// <summary>Gradient accumulation: the optimizer steps every AccumIter iterations; effective batch = BatchSize × AccumIter.</summary>
    public int AccumIter { get; init; } = 1;
    /// <summary>Absolute lr; null means BaseLr × effective batch / 256.</summary>
    public double? Lr { get; init; }
    public double BaseLr { get; init; }
    public double WeightDecay { get; init; }
    public double MinLr { get; init; }
    public double WarmupEpochs { get; init; }
    /// <summary>Global average pooling + fc_norm, or the cls token + norm.</summary>
    public bool GlobalPool { get; init; }
    /// <summary>Lower end of RandomResizedCrop's area range in the training transform (timm's default 0.08).</summary>
    public double MinCropScale { get; init; } = 0.08;
    /// <summary>Evaluation: shorter side resized to size / CropPct, then centre crop (0.875 for ImageFolder data; 1 keeps native-size images).</summary>
    public double EvalCropPct { get; init; } = 0.875;
    public long Seed { get; init; }
    /// <summary>Folder of checkpoints, metrics.csv, eval.csv and TensorBoard events.</summary>
    public string OutputDir { get; init; } = "output";
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

    /// <summary>Throws an ArgumentException naming the first option out of range.</summary>
    public void Validate() => Validate((ok, name, value, expected) =>
    {
        if (!ok) throw new ArgumentException($"{GetType().Name}.{name} = {value}: expected {expected}.", name);
    });

    /// <summary>Checks the shared options; a derived record adds its own after calling this.</summary>
    protected virtual void Validate(Action<bool, string, object, string> require)
    {
        require(NumClasses >= 1, nameof(NumClasses), NumClasses, "≥ 1");
        require(Epochs >= 1, nameof(Epochs), Epochs, "≥ 1");
        require(BatchSize >= 1, nameof(BatchSize), BatchSize, "≥ 1");
        require(AccumIter >= 1, nameof(AccumIter), AccumIter, "≥ 1");
        require(Lr is null || Lr >= 0, nameof(Lr), Lr ?? 0, "≥ 0");
        require(BaseLr >= 0, nameof(BaseLr), BaseLr, "≥ 0");
        require(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "≥ 0");
        require(MinLr >= 0 && MinLr <= AbsoluteLr, nameof(MinLr), MinLr, $"in [0, lr = {AbsoluteLr}]");
        require(WarmupEpochs >= 0 && WarmupEpochs < Epochs, nameof(WarmupEpochs), WarmupEpochs, $"in [0, Epochs = {Epochs})");
        require(MinCropScale > 0 && MinCropScale <= 1, nameof(MinCropScale), MinCropScale, "in (0, 1]");
        require(EvalCropPct > 0 && EvalCropPct <= 1, nameof(EvalCropPct), EvalCropPct, "in (0, 1]");
        require(CheckpointPeriod >= 1, nameof(CheckpointPeriod), CheckpointPeriod, "≥ 1");
        require(EvalPeriod >= 1, nameof(EvalPeriod), EvalPeriod, "≥ 1");
        require(Workers >= 0, nameof(Workers), Workers, "≥ 0");
        require(!string.IsNullOrWhiteSpace(OutputDir), nameof(OutputDir), OutputDir, "a folder");
    }

    /// <summary>The options as JSON (stored in every checkpoint), with the derived record's own options.</summary>
    public JsonObject ToJson() => (JsonObject)System.Text.Json.JsonSerializer.SerializeToNode(this, GetType())!;
}

using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MaeDsl.Training;

/// <summary>
/// The pre-training recipe. Defaults are the official one (main_pretrain.py with PRETRAIN.md's values):
/// AdamW (0.9, 0.95), weight decay 0.05, blr 1.5e-4, lr = blr × effective batch / 256, 40 warmup epochs,
/// half-cycle cosine to min_lr 0, 400 epochs, a checkpoint every 20 epochs and at the end.
/// </summary>
public sealed record PretrainOptions
{
    /// <summary>Total epochs of the run (official 400 for ViT-B in main_pretrain.py; 800/1600 in the paper).</summary>
    public int Epochs { get; init; } = 400;
    /// <summary>Images per iteration (per device in the official code).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Iterations whose gradients are accumulated before one optimizer step.</summary>
    public int AccumIter { get; init; } = 1;
    /// <summary>Base lr: absolute lr = blr × effective batch / 256 (PRETRAIN.md's 1.5e-4).</summary>
    public double BaseLr { get; init; } = 1.5e-4;
    /// <summary>Absolute lr; when set it overrides <see cref="BaseLr"/>, as --lr does.</summary>
    public double? Lr { get; init; }
    /// <summary>The floor the cosine reaches at the last epoch.</summary>
    public double MinLr { get; init; }
    /// <summary>Epochs of linear warmup (may be fractional for a short run).</summary>
    public double WarmupEpochs { get; init; } = 40;
    public double WeightDecay { get; init; } = 0.05;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    /// <summary>Seeds torch, the data order and augmentation (through the data source) and the masking noise of every step.</summary>
    public long Seed { get; init; }
    /// <summary>A numbered checkpoint (and its .safetensors weights) is kept every this many epochs and at the end.</summary>
    public int CheckpointEveryEpochs { get; init; } = 20;
    /// <summary>The run's folder: metrics.csv, tensorboard/, checkpoints/.</summary>
    public string OutputDir { get; init; } = "output_dir";
    /// <summary>Write TensorBoard event files.</summary>
    public bool TensorBoard { get; init; } = true;

    [JsonIgnore] public int EffectiveBatch => BatchSize * AccumIter;
    /// <summary>The peak lr of the schedule.</summary>
    [JsonIgnore] public double AbsoluteLr => Lr ?? LrSchedule.AbsoluteLr(BaseLr, EffectiveBatch);
    [JsonIgnore] public string CheckpointDir => Path.Combine(OutputDir, "checkpoints");

    public LrSchedule Schedule() => new(AbsoluteLr, MinLr, WarmupEpochs, Epochs);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option that is out of range.</summary>
    public void Validate()
    {
        static void Require(bool ok, string option, object value, string expected)
        {
            if (!ok) throw new ArgumentException($"{option} = {value} is invalid: {expected}", option);
        }
        Require(Epochs >= 1, "--epochs", Epochs, "must be >= 1");
        Require(BatchSize >= 1, "--batch", BatchSize, "must be >= 1");
        Require(AccumIter >= 1, "--accum", AccumIter, "must be >= 1");
        Require(BaseLr > 0 && double.IsFinite(BaseLr), "--blr", BaseLr, "must be a finite number > 0");
        Require(Lr is null || (Lr > 0 && double.IsFinite(Lr.Value)), "--lr", Lr!, "must be a finite number > 0");
        Require(MinLr >= 0 && MinLr <= AbsoluteLr, "--min-lr", MinLr, $"must be in [0, lr {AbsoluteLr}]");
        Require(WarmupEpochs >= 0 && WarmupEpochs < Epochs, "--warmup-epochs", WarmupEpochs, $"must be in [0, epochs {Epochs})");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), "--weight-decay", WeightDecay, "must be a finite number >= 0");
        Require(Beta1 >= 0 && Beta1 < 1, "beta1", Beta1, "must be in [0, 1)");
        Require(Beta2 >= 0 && Beta2 < 1, "beta2", Beta2, "must be in [0, 1)");
        Require(CheckpointEveryEpochs >= 1, "--checkpoint-every", CheckpointEveryEpochs, "must be >= 1");
        Require(!string.IsNullOrWhiteSpace(OutputDir), "--output", OutputDir, "must name a folder");
    }

    static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, JsonOptions)!.AsObject();
    public static PretrainOptions FromJson(JsonObject json) =>
        json.Deserialize<PretrainOptions>(JsonOptions) ?? throw new InvalidDataException("empty pretrain options");
}

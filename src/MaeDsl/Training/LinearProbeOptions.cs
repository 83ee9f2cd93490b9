using System.Text.Json.Nodes;

namespace MaeDsl.Training;

/// <summary>
/// Linear probing with the defaults of the official <c>main_linprobe.py</c>: frozen encoder, cls-token features
/// after the encoder's norm, head BatchNorm1d(affine=false, eps 1e-6) + Linear, LARS (momentum 0.9, trust 0.001)
/// with weight decay 0, blr 0.1, lr = blr × effective batch / 256, 10 warmup epochs then cosine to min lr 0,
/// 90 epochs, batch 512 (16 GPUs × 1024 in the paper's command; 512 is the script's per-GPU default), training
/// augmentation RandomResizedCrop (scale 0.08–1) + flip.
/// </summary>
public sealed record LinearProbeOptions
{
    public int NumClasses { get; init; }
    public int Epochs { get; init; } = 90;
    public int BatchSize { get; init; } = 512;
    public int AccumIter { get; init; } = 1;
    /// <summary>Absolute lr; null means BaseLr × effective batch / 256.</summary>
    public double? Lr { get; init; }
    public double BaseLr { get; init; } = 0.1;
    public double WeightDecay { get; init; }
    public double MinLr { get; init; }
    public double WarmupEpochs { get; init; } = 10;
    /// <summary>The official linear probe uses the cls token (false); true pools the patch tokens + fc_norm.</summary>
    public bool GlobalPool { get; init; }
    public double MinCropScale { get; init; } = 0.08;
    public double EvalCropPct { get; init; } = 0.875;
    public long Seed { get; init; }
    public string OutputDir { get; init; } = "output_linprobe";
    public int CheckpointPeriod { get; init; } = 1;
    public bool TensorBoard { get; init; } = true;
    public string? Resume { get; init; }
    public int EvalPeriod { get; init; } = 1;
    public int Workers { get; init; }

    public double AbsoluteLr => Lr ?? BaseLr * BatchSize * AccumIter / 256.0;

    public void Validate()
    {
        static void Require(bool ok, string name, object value, string expected)
        {
            if (!ok) throw new ArgumentException($"LinearProbeOptions.{name} = {value}: expected {expected}.", name);
        }
        Require(NumClasses >= 1, nameof(NumClasses), NumClasses, "≥ 1");
        Require(Epochs >= 1, nameof(Epochs), Epochs, "≥ 1");
        Require(BatchSize >= 2, nameof(BatchSize), BatchSize, "≥ 2 (BatchNorm1d needs more than one sample per batch)");
        Require(AccumIter >= 1, nameof(AccumIter), AccumIter, "≥ 1");
        Require(Lr is null || Lr >= 0, nameof(Lr), Lr ?? 0, "≥ 0");
        Require(BaseLr >= 0, nameof(BaseLr), BaseLr, "≥ 0");
        Require(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "≥ 0");
        Require(MinLr >= 0 && MinLr <= AbsoluteLr, nameof(MinLr), MinLr, $"in [0, lr = {AbsoluteLr}]");
        Require(WarmupEpochs >= 0 && WarmupEpochs < Epochs, nameof(WarmupEpochs), WarmupEpochs, $"in [0, Epochs = {Epochs})");
        Require(MinCropScale > 0 && MinCropScale <= 1, nameof(MinCropScale), MinCropScale, "in (0, 1]");
        Require(EvalCropPct > 0 && EvalCropPct <= 1, nameof(EvalCropPct), EvalCropPct, "in (0, 1]");
        Require(CheckpointPeriod >= 1, nameof(CheckpointPeriod), CheckpointPeriod, "≥ 1");
        Require(EvalPeriod >= 1, nameof(EvalPeriod), EvalPeriod, "≥ 1");
        Require(Workers >= 0, nameof(Workers), Workers, "≥ 0");
        Require(!string.IsNullOrWhiteSpace(OutputDir), nameof(OutputDir), OutputDir, "a folder");
    }

    public JsonObject ToJson() => (JsonObject)System.Text.Json.JsonSerializer.SerializeToNode(this)!;
}

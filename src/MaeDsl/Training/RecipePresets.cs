// RecipePresets: every named set of default values in one place: the official scripts' and the tiny main job's.
namespace MaeDsl.Training;

/// <summary>
/// The recipes' default values, by name. Official: main_pretrain.py (PRETRAIN.md), main_finetune.py (FINETUNE.md's
/// command), main_linprobe.py. Tiny: the main job's short run of the 306k-parameter MaeFashionTiny on Fashion-MNIST
/// (3 epochs, batch 256, blr 1.5e-3, warmup 0.5, a kept checkpoint every 2 epochs; measured, see README-quickstart.md)
/// and the `results` command's classifier budgets (fine-tune 3 epochs of 128, warmup 0.5; probe 4 epochs of 256,
/// LARS lr 6.4, warmup 0.5).
/// </summary>
internal static class RecipePresets
{
    /// <summary>main_pretrain.py + PRETRAIN.md: 400 epochs, batch 64, blr 1.5e-4, 40 warmup epochs, min lr 0, wd 0.05, a checkpoint every 20 epochs.</summary>
    public static RunOptions OfficialPretrainRun { get; } = new()
    {
        Epochs = 400, BatchSize = 64, BaseLr = 1.5e-4, MinLr = 0, WarmupEpochs = 40, WeightDecay = 0.05, CheckpointPeriod = 20, OutputDir = "output_dir",
    };

    /// <summary>main_finetune.py's documented command: 50 epochs, batch 64, blr 1e-3, 5 warmup epochs, min lr 1e-6, wd 0.05, a checkpoint every
    /// epoch.</summary>
    public static RunOptions OfficialFineTuneRun { get; } = new()
    {
        Epochs = 50, BatchSize = 64, BaseLr = 1e-3, MinLr = 1e-6, WarmupEpochs = 5, WeightDecay = 0.05, CheckpointPeriod = 1, OutputDir = "output_finetune",
    };

    /// <summary>main_linprobe.py: 90 epochs, batch 512, blr 0.1, 10 warmup epochs, min lr 0, wd 0, a checkpoint every epoch.</summary>
    public static RunOptions OfficialLinearProbeRun { get; } = new()
    {
        Epochs = 90, BatchSize = 512, BaseLr = 0.1, MinLr = 0, WarmupEpochs = 10, WeightDecay = 0, CheckpointPeriod = 1, OutputDir = "output_linprobe",
    };

    public static PretrainOptions OfficialPretrain => new();
    public static FineTuneOptions OfficialFineTune => new();
    public static LinearProbeOptions OfficialLinearProbe => new();

    /// <summary>FINETUNE.md's ViT-B/16 recipe: blr 5e-4, layer decay 0.65, 100 epochs, drop path 0.1, wd 0.05.</summary>
    public static FineTuneOptions VitBaseFineTune => new() { Run = OfficialFineTuneRun with { BaseLr = 5e-4, Epochs = 100 }, LayerDecay = 0.65 };

    /// <summary>The main job's pre-training of the tiny model: 3 epochs, batch 256, blr 1.5e-3 (lr 1.5e-3), warmup 0.5 epoch, a kept checkpoint every 2
    /// epochs.</summary>
    public static PretrainOptions TinyPretrain => new()
    {
        Run = OfficialPretrainRun with { Epochs = 3, BatchSize = 256, BaseLr = 1.5e-3, WarmupEpochs = 0.5, CheckpointPeriod = 2 },
    };

    /// <summary>The `results` command's fine-tuning of the tiny model: 3 epochs, batch 128, warmup 0.5 epoch, otherwise main_finetune.py.</summary>
    public static FineTuneOptions TinyFineTune => new() { Run = OfficialFineTuneRun with { Epochs = 3, BatchSize = 128, WarmupEpochs = 0.5 } };

    /// <summary>The `results` command's linear probe of the tiny model: 4 epochs, batch 256, LARS lr 6.4 (the paper's blr 0.1 × 16384 / 256), warmup 0.5
    /// epoch.</summary>
    public static LinearProbeOptions TinyLinearProbe => new() { Run = OfficialLinearProbeRun with { Epochs = 4, BatchSize = 256, Lr = 6.4,
        WarmupEpochs = 0.5 } };

    /// <summary>The pre-training preset called <paramref name="name"/>: "official" or "tiny".</summary>
    public static PretrainOptions Pretrain(string name) => name switch
    {
        Official => OfficialPretrain,
        Tiny => TinyPretrain,
        _ => throw new ArgumentException($"no pre-training preset '{name}' (known: {Official}, {Tiny})", nameof(name)),
    };

    public const string Official = "official";
    public const string Tiny = "tiny";
}

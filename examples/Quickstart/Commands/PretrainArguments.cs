using System.CommandLine;
using MaeDsl.Training;

namespace Quickstart.Commands;

/// <summary>The options shared by the main job and the `pretrain` command (one instance per command).</summary>
public sealed class PretrainArguments
{
    // Defaults: the tiny variants take the main job's preset (measured, see README-quickstart.md), the big ones the official recipe.
    static readonly RunOptions Tiny = RecipePresets.TinyPretrain.Run, Official = RecipePresets.OfficialPretrain.Run;

    public readonly Option<string> Variant = new("--variant") { Description = $"Model: {string.Join(", ", Variants.All.Select(v => $"{v.Key} ({v.Description})"))}", DefaultValueFactory = _ => "tiny" };
    public readonly Option<string> Dataset = new("--dataset") { Description = $"'{DataSources.FashionMnistName}' or the root of an ImageFolder (root/class_x/*.jpg; a sibling 'val' folder of a 'train' root is the held-out split)", DefaultValueFactory = _ => DataSources.FashionMnistName };
    public readonly Option<string?> DataDir = new("--data-dir") { Description = "Folder of the Fashion-MNIST IDX .gz files (default: $MAEDSL_FASHION_MNIST or /usr/share/datasets/fashion-mnist, from Debian's dataset-fashion-mnist)" };
    public readonly Option<int?> Epochs = new("--epochs") { Description = $"Epochs (default: {Tiny.Epochs} for tiny, the official {Official.Epochs} for the ViT presets)" };
    public readonly Option<int?> Batch = new("--batch") { Description = $"Images per iteration (default: {Tiny.BatchSize} for tiny, {Official.BatchSize} for the ViT presets)" };
    public readonly Option<int> Accum = new("--accum") { Description = "Gradient accumulation iterations (effective batch = batch × accum)", DefaultValueFactory = _ => 1 };
    public readonly Option<double?> Blr = new("--blr") { Description = $"Base lr; lr = blr × effective batch / 256 (default: {Tiny.BaseLr} for tiny's short run, PRETRAIN.md's {Official.BaseLr} for the ViT presets)" };
    public readonly Option<double?> WarmupEpochs = new("--warmup-epochs") { Description = $"Linear warmup epochs (default: {Tiny.WarmupEpochs} for tiny, the official {Official.WarmupEpochs} for the ViT presets)" };
    public readonly Option<double?> MaskRatio = new("--mask-ratio") { Description = "Fraction of patches removed (default: the variant's, 0.75)" };
    public readonly Option<double> MinCropScale = new("--min-crop-scale") { Description = "RandomResizedCrop's smallest area fraction (official 0.2)", DefaultValueFactory = _ => 0.2 };
    public readonly Option<long> Seed = new("--seed") { Description = "Seed of the initialisation, data order, augmentation and masking", DefaultValueFactory = _ => 0 };
    public readonly Option<int> Threads = new("--threads") { Description = "torch threads (torch.set_num_threads)", DefaultValueFactory = _ => Environment.ProcessorCount };
    public readonly Option<string?> Output = new("--output") { Description = "Output folder (default: runs/<variant>-<UTC time>, or the resumed run's folder)" };
    public readonly Option<string?> Resume = new("--resume") { Description = "Continue from a checkpoint (.ckpt) written by this program" };
    public readonly Option<int?> TrainLimit = new("--train-limit") { Description = "Pre-train on the first N training images only (quick checks)" };
    public readonly Option<int?> CheckpointEvery = new("--checkpoint-every") { Description = $"Keep a numbered checkpoint (and pictures) every N epochs (default: {Tiny.CheckpointPeriod} for tiny, the official {Official.CheckpointPeriod} for the ViT presets)" };

    /// <summary>Adds the options, except those in <paramref name="except"/> (a command that does not honour them must not offer them).</summary>
    public void AddTo(Command command, params Option[] except)
    {
        foreach (var o in new Option[] { Variant, Dataset, DataDir, Epochs, Batch, Accum, Blr, WarmupEpochs, MaskRatio, MinCropScale, Seed, Threads, Output, Resume, CheckpointEvery, TrainLimit })
            if (!except.Contains(o)) command.Options.Add(o);
    }

    /// <summary>What the user asked for, with the variant's defaults filled in.</summary>
    public PretrainSettings Read(ParseResult parse)
    {
        var variant = Variants.Find(parse.GetValue(Variant)!);
        var preset = RecipePresets.Pretrain(variant.Key.StartsWith("tiny", StringComparison.Ordinal) ? RecipePresets.Tiny : RecipePresets.Official); // tiny and its ablations
        string? resume = parse.GetValue(Resume);
        string output = parse.GetValue(Output)
            ?? (resume is not null ? RunFolderOf(resume)
                : Path.Combine("runs", $"{variant.Key}-{DateTime.UtcNow:yyyyMMdd-HHmmss}"));
        int threads = parse.GetValue(Threads);
        if (threads < 1) throw new ArgumentException($"--threads = {threads} is invalid: must be >= 1");
        var options = preset with
        {
            Run = preset.Run with
            {
                Epochs = parse.GetValue(Epochs) ?? preset.Run.Epochs,
                BatchSize = parse.GetValue(Batch) ?? preset.Run.BatchSize,
                AccumIter = parse.GetValue(Accum),
                BaseLr = parse.GetValue(Blr) ?? preset.Run.BaseLr,
                WarmupEpochs = parse.GetValue(WarmupEpochs) ?? preset.Run.WarmupEpochs,
                Seed = parse.GetValue(Seed),
                CheckpointPeriod = parse.GetValue(CheckpointEvery) ?? preset.Run.CheckpointPeriod,
                OutputDir = Path.GetFullPath(output),
            },
        };
        options.Validate();
        double? ratio = parse.GetValue(MaskRatio);
        if (ratio is { } r && !(r > 0 && r < 1)) throw new ArgumentException($"--mask-ratio = {r} is invalid: must be in (0, 1)");
        double minScale = parse.GetValue(MinCropScale);
        if (!(minScale > 0 && minScale <= 1)) throw new ArgumentException($"--min-crop-scale = {minScale} is invalid: must be in (0, 1]");
        int? trainLimit = parse.GetValue(TrainLimit);
        if (trainLimit is < 1) throw new ArgumentException($"--train-limit = {trainLimit} is invalid: must be >= 1");
        return new PretrainSettings(variant, parse.GetValue(Dataset)!, parse.GetValue(DataDir), options, ratio, minScale, threads, resume, trainLimit);
    }

    /// <summary>A checkpoint's run folder: runs/x/checkpoints/checkpoint-last.ckpt → runs/x.</summary>
    static string RunFolderOf(string checkpoint)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(checkpoint))!;
        return Path.GetFileName(dir) == "checkpoints" ? Path.GetDirectoryName(dir)! : dir;
    }
}

public sealed record PretrainSettings(Variant Variant, string Dataset, string? DataDir, PretrainOptions Options, double? MaskRatio, double MinCropScale, int Threads, string? Resume, int? TrainLimit);

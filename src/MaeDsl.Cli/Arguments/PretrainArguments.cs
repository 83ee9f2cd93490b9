// The pre-training options of the main job, `pretrain` and `results` (one instance per command): the shared
// options plus the recipe. A model for images under 224 px defaults to the quickstart's measured short recipe,
// a 224-px model (the official presets) to PRETRAIN.md's.
using System.CommandLine;
using MaeDsl;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>The options shared by the main job, <c>pretrain</c> and <c>results</c>.</summary>
internal sealed class PretrainArguments(bool useDefault = true)
{
    // The short recipe measured for the quickstart's tiny model (see examples/Quickstart/README-quickstart.md);
    // models for 224-px images default to the official recipe.
    public const int ShortEpochs = 3;
    public const int ShortBatch = 256;
    public const double ShortBlr = 1.5e-3;
    public const double ShortWarmupEpochs = 0.5;
    public const int OfficialImageSize = 224;

    public readonly CommonOptions Common = new(useDefault);
    public readonly Option<int?> Epochs = new("--epochs") { Description = $"Epochs (default: {ShortEpochs} for models of images under {OfficialImageSize} px, the official 400 otherwise)" };
    public readonly Option<int?> Batch = new("--batch") { Description = $"Images per iteration (default: {ShortBatch} under {OfficialImageSize} px, 64 otherwise)" };
    public readonly Option<int> Accum = new("--accum") { Description = "Gradient accumulation iterations (effective batch = batch × accum)", DefaultValueFactory = _ => 1 };
    public readonly Option<double?> Blr = new("--blr") { Description = $"Base lr; lr = blr × effective batch / 256 (default: {ShortBlr} under {OfficialImageSize} px, PRETRAIN.md's 1.5e-4 otherwise)" };
    public readonly Option<double?> WarmupEpochs = new("--warmup-epochs") { Description = $"Linear warmup epochs (default: {ShortWarmupEpochs} under {OfficialImageSize} px, the official 40 otherwise)" };
    public readonly Option<double?> MaskRatio = new("--mask-ratio") { Description = "Fraction of patches removed (default: the model's, 0.75 unless its [Masking] says otherwise)" };
    public readonly Option<double> MinCropScale = new("--min-crop-scale") { Description = "RandomResizedCrop's smallest area fraction (official 0.2)", DefaultValueFactory = _ => 0.2 };
    public readonly Option<string?> Output = new("--output") { Description = "Output folder (default: runs/<model key>-<UTC time>, or the resumed run's folder)" };
    public readonly Option<string?> Resume = new("--resume") { Description = "Continue from a checkpoint (.ckpt) written by this program" };
    public readonly Option<int?> CheckpointEvery = new("--checkpoint-every") { Description = $"Keep a numbered checkpoint (and pictures) every N epochs (default: 2 under {OfficialImageSize} px, the official 20 otherwise)" };

    /// <summary>Adds the options, except those in <paramref name="except"/> (a command that does not honour them must not offer them).</summary>
    public void AddTo(Command command, params Option[] except)
    {
        Common.AddTo(command, except);
        foreach (var o in new Option[] { Epochs, Batch, Accum, Blr, WarmupEpochs, MaskRatio, MinCropScale, Output, Resume, CheckpointEvery })
            if (!except.Contains(o)) command.Options.Add(o);
    }

    /// <summary>What the user asked for, with the model's defaults filled in.</summary>
    public PretrainSettings Read(ParseResult parse)
    {
        var model = Common.ReadModel(parse);
        bool shortRun = model.Spec.ImageSize < OfficialImageSize;
        string? resume = parse.GetValue(Resume);
        string output = parse.GetValue(Output)
            ?? (resume is not null ? RunFolderOf(resume)
                : Path.Combine("runs", $"{model.Key}-{DateTime.UtcNow:yyyyMMdd-HHmmss}"));
        int threads = parse.GetValue(Common.Threads);
        if (threads < 1) throw new ArgumentException($"--threads = {threads} is invalid: must be >= 1");
        var options = new PretrainOptions
        {
            Epochs = parse.GetValue(Epochs) ?? (shortRun ? ShortEpochs : 400),
            BatchSize = parse.GetValue(Batch) ?? (shortRun ? ShortBatch : 64),
            AccumIter = parse.GetValue(Accum),
            BaseLr = parse.GetValue(Blr) ?? (shortRun ? ShortBlr : 1.5e-4),
            WarmupEpochs = parse.GetValue(WarmupEpochs) ?? (shortRun ? ShortWarmupEpochs : 40),
            Seed = parse.GetValue(Common.Seed),
            CheckpointEveryEpochs = parse.GetValue(CheckpointEvery) ?? (shortRun ? 2 : 20),
            OutputDir = Path.GetFullPath(output),
        };
        options.Validate();
        var masking = MaskingOverride.For(model.Spec, parse.GetValue(MaskRatio), null);
        model.SpecWith(masking); // MAE004 for a ratio outside (0, 1) or one that leaves no visible patch
        double minScale = parse.GetValue(MinCropScale);
        if (!(minScale > 0 && minScale <= 1)) throw new ArgumentException($"--min-crop-scale = {minScale} is invalid: must be in (0, 1]");
        return new PretrainSettings(model, parse.GetValue(Common.Dataset)!, parse.GetValue(Common.DataDir), options, masking, minScale, threads, resume, Common.ReadTrainLimit(parse));
    }

    /// <summary>A checkpoint's run folder: runs/x/checkpoints/checkpoint-last.ckpt → runs/x.</summary>
    static string RunFolderOf(string checkpoint)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(checkpoint))!;
        return Path.GetFileName(dir) == "checkpoints" ? Path.GetDirectoryName(dir)! : dir;
    }
}

/// <summary>A pre-training run as the command line describes it.</summary>
/// <param name="Model">The registered model.</param>
/// <param name="Masking">The run-time masking (--mask-ratio), null for the model's own.</param>
public sealed record PretrainSettings(MaeModelInfo Model, string Dataset, string? DataDir, PretrainOptions Options, MaskingOverride? Masking,
    double MinCropScale, int Threads, string? Resume, int? TrainLimit)
{
    /// <summary>The spec of the model this run trains (the declared one with the run-time masking).</summary>
    public MaeSpec Spec => Model.SpecWith(Masking);

    /// <summary>A new model of this run (the official initialisation from <paramref name="seed"/>).</summary>
    public MaskedAutoencoder Build(long seed) => Model.Create(seed, Masking);
}

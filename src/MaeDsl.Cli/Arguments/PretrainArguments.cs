// The pre-training options of the main job, `pretrain` and `results` (one instance per command): the shared
// options plus the recipe: named defaults (--recipe tiny|official; tiny under 224 px) and every value on its own.
using System.CommandLine;
using MaeDsl;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>The options shared by the main job, <c>pretrain</c> and <c>results</c>.</summary>
internal sealed class PretrainArguments(bool useDefault = true)
{
    // Named defaults (RecipePresets): the quickstart's measured short run ("tiny") for models of images under 224 px,
    // PRETRAIN.md's ("official") for 224-px models such as the presets; --recipe picks one by name.
    public const int OfficialImageSize = 224;
    static readonly RunOptions Tiny = RecipePresets.TinyPretrain.Run, Official = RecipePresets.OfficialPretrain.Run;

    public readonly CommonOptions Common = new(useDefault);
    public readonly Option<string?> Recipe = new("--recipe")
    {
        Description = $"Named defaults of the options below: '{RecipePresets.Tiny}' (the quickstart's short run) or '{RecipePresets.Official}' (PRETRAIN.md) (default: {RecipePresets.Tiny} for models of images under {OfficialImageSize} px, {RecipePresets.Official} otherwise)",
    };
    public readonly Option<int?> Epochs = new("--epochs") { Description = $"Epochs (default: {Tiny.Epochs} for tiny, the official {Official.Epochs})" };
    public readonly Option<int?> Batch = new("--batch") { Description = $"Images per iteration (default: {Tiny.BatchSize} for tiny, {Official.BatchSize} official)" };
    public readonly Option<int> Accum = new("--accum") { Description = "Gradient accumulation iterations (effective batch = batch × accum)", DefaultValueFactory = _ => 1 };
    public readonly Option<double?> Blr = new("--blr") { Description = $"Base lr; lr = blr × effective batch / 256 (default: {Tiny.BaseLr} for tiny's short run, PRETRAIN.md's {Official.BaseLr})" };
    public readonly Option<double?> WarmupEpochs = new("--warmup-epochs") { Description = $"Linear warmup epochs (default: {Tiny.WarmupEpochs} for tiny, the official {Official.WarmupEpochs})" };
    public readonly Option<double?> MaskRatio = new("--mask-ratio") { Description = "Fraction of patches removed (default: the model's, 0.75 unless its [Masking] says otherwise)" };
    public readonly Option<double> MinCropScale = new("--min-crop-scale") { Description = "RandomResizedCrop's smallest area fraction (official 0.2)", DefaultValueFactory = _ => 0.2 };
    public readonly Option<string?> Output = new("--output") { Description = "Output folder (default: runs/<model key>-<UTC time>, or the resumed run's folder)" };
    public readonly Option<string?> Resume = new("--resume") { Description = "Continue from a checkpoint (.ckpt) written by this program" };
    public readonly RunControlOptions Control = new();
    public readonly Option<int?> CheckpointEvery = new("--checkpoint-every") { Description = $"Keep a numbered checkpoint (and pictures) every N epochs (default: {Tiny.CheckpointPeriod} for tiny, the official {Official.CheckpointPeriod})" };

    /// <summary>Adds the options, except those in <paramref name="except"/> (a command that does not honour them must not offer them).</summary>
    public void AddTo(Command command, params Option[] except)
    {
        Common.AddTo(command, except);
        foreach (var o in new Option[] { Recipe, Epochs, Batch, Accum, Blr, WarmupEpochs, MaskRatio, MinCropScale, Output, Resume, CheckpointEvery,
                                         Control.CheckpointEverySteps, Control.SkipNonFinite, Control.AllowChange, Control.Precision })
            if (!except.Contains(o)) command.Options.Add(o);
    }

    /// <summary>What the user asked for, with the model's defaults filled in.</summary>
    public PretrainSettings Read(ParseResult parse)
    {
        var model = Common.ReadModel(parse);
        string? recipe = parse.GetValue(Recipe);
        OptionCheck.Require(recipe is null or RecipePresets.Tiny or RecipePresets.Official, "--recipe", recipe, $"'{RecipePresets.Tiny}' or '{RecipePresets.Official}'");
        var preset = RecipePresets.Pretrain(recipe ?? (model.Spec.ImageSize < OfficialImageSize ? RecipePresets.Tiny : RecipePresets.Official));
        string? resume = parse.GetValue(Resume);
        ClassifierRunArguments.RequireResumable(resume);
        string output = parse.GetValue(Output)
            ?? (resume is not null ? RunFolderOf(resume)
                : Path.Combine("runs", $"{model.Key}-{DateTime.UtcNow:yyyyMMdd-HHmmss}"));
        int threads = parse.GetValue(Common.Threads);
        OptionCheck.Require(threads >= 1, "--threads", threads, "must be >= 1");
        var options = preset with
        {
            Run = Control.Apply(preset.Run, parse) with
            {
                Epochs = parse.GetValue(Epochs) ?? preset.Run.Epochs,
                BatchSize = parse.GetValue(Batch) ?? preset.Run.BatchSize,
                AccumIter = parse.GetValue(Accum),
                BaseLr = parse.GetValue(Blr) ?? preset.Run.BaseLr,
                WarmupEpochs = parse.GetValue(WarmupEpochs) ?? preset.Run.WarmupEpochs,
                Seed = parse.GetValue(Common.Seed),
                CheckpointPeriod = parse.GetValue(CheckpointEvery) ?? preset.Run.CheckpointPeriod,
                OutputDir = Path.GetFullPath(output),
                Device = Devices.Name(Common.ReadDevice(parse)),
            },
        };
        options.Validate();
        var masking = MaskingOverride.For(model.Spec, parse.GetValue(MaskRatio), null);
        model.SpecWith(masking); // MAE004 for a ratio outside (0, 1) or one that leaves no visible patch
        double minScale = parse.GetValue(MinCropScale);
        OptionCheck.Require(minScale > 0 && minScale <= 1, "--min-crop-scale", minScale, "must be in (0, 1]");
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

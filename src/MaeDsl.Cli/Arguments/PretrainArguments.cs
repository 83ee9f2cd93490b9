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
        Description = $"Named defaults of the options below: '{RecipePresets.Tiny}' (the quickstart's short run) or '{RecipePresets.Official}' (PRETRAIN.md) " +
            $"(default: {RecipePresets.Tiny} for models of images under {OfficialImageSize} px, {RecipePresets.Official} otherwise)",
    };
    public readonly DeclaredOptions Schedule = new(BothPresets, RunOptionDeclarations.Epochs, RunOptionDeclarations.Batch, RunOptionDeclarations.Accum,
        RunOptionDeclarations.Blr, RunOptionDeclarations.WarmupEpochs);
    public readonly Option<double?> MaskRatio = new("--mask-ratio") {
        Description = "Fraction of patches removed (default: the model's, 0.75 unless its [Masking] says otherwise)" };
    public readonly Option<double> MinCropScale = new("--min-crop-scale") { Description = "RandomResizedCrop's smallest area fraction (official 0.2)",
        DefaultValueFactory = _ => 0.2 };
    public readonly Option<string?> Output = new("--output") {
        Description = "Output folder (default: runs/<model key>-<UTC time>, or the resumed run's folder)" };
    public readonly Option<string?> Resume = new("--resume") { Description = "Continue from a checkpoint (.ckpt) written by this program" };
    public readonly RunControlOptions Control = new();
    public readonly DeclaredOptions Checkpoints = new(BothPresets, RunOptionDeclarations.CheckpointEvery);
    public Option CheckpointEvery => Checkpoints[RunOptionDeclarations.CheckpointEvery];

    /// <summary>A help text's default: "3 for tiny, 400 official", or the one value both presets share.</summary>
    static string BothPresets(RunOptionDeclaration d) =>
        d.Show(Tiny) == d.Show(Official) ? d.Show(Tiny) : $"{d.Show(Tiny)} for {RecipePresets.Tiny}, {d.Show(Official)} {RecipePresets.Official}";

    /// <summary>Adds the options, except those in <paramref name="except"/> (a command that does not honour them must not offer them).</summary>
    public void AddTo(Command command, params Option[] except)
    {
        Common.AddTo(command, except);
        foreach (var o in new Option[] { Recipe }.Concat(Schedule.Options).Concat([MaskRatio, MinCropScale, Output, Resume, CheckpointEvery,
                                         Control.CheckpointEverySteps, Control.SkipNonFinite, Control.AllowChange, Control.Overwrite, Control.Precision]))
            if (!except.Contains(o)) command.Options.Add(o);
    }

    /// <summary>What the user asked for, with the model's defaults filled in.</summary>
    public PretrainSettings Read(ParseResult parse)
    {
        var model = Common.ReadModel(parse);
        string? recipe = parse.GetValue(Recipe);
        OptionCheck.Require(recipe is null or RecipePresets.Tiny or RecipePresets.Official, "--recipe", recipe,
            $"'{RecipePresets.Tiny}' or '{RecipePresets.Official}'");
        var preset = RecipePresets.Pretrain(recipe ?? (model.Spec.ImageSize < OfficialImageSize ? RecipePresets.Tiny : RecipePresets.Official));
        string? resume = parse.GetValue(Resume);
        ClassifierRunArguments.RequireResumable(resume);
        string output = parse.GetValue(Output)
            ?? (resume is not null ? RunFolder.OfCheckpoint(resume) : RunFolder.UniqueDefault(model.Key));
        int threads = Common.ReadThreads(parse);
        var options = preset with
        {
            Run = Checkpoints.Bind(Schedule.Bind(Control.Apply(preset.Run, parse), parse), parse) with
            {
                Seed = parse.GetValue(Common.Seed),
                OutputDir = Path.GetFullPath(output),
                Threads = threads, Workers = DataSources.PretrainWorkers,
                Device = Devices.Name(Common.ReadDevice(parse)),
            },
        };
        options.Validate();
        var masking = MaskingOverride.For(model.Spec, parse.GetValue(MaskRatio), null);
        model.SpecWith(masking); // MAE004 for a ratio outside (0, 1) or one that leaves no visible patch
        double minScale = parse.GetValue(MinCropScale);
        OptionCheck.Require(minScale > 0 && minScale <= 1, "--min-crop-scale", minScale, "must be in (0, 1]");
        return new PretrainSettings(model, parse.GetValue(Common.Dataset)!, parse.GetValue(Common.DataDir), options, masking, minScale, threads, resume,
            Common.ReadTrainLimit(parse))
        {
            Overwrite = parse.GetResult(Control.Overwrite) is not null && parse.GetValue(Control.Overwrite),
            BatchTyped = Schedule.Typed(RunOptionDeclarations.Batch, parse), AccumTyped = Schedule.Typed(RunOptionDeclarations.Accum, parse),
        };
    }
}

/// <summary>A pre-training run as the command line describes it.</summary>
/// <param name="Model">The registered model.</param>
/// <param name="Masking">The run-time masking (--mask-ratio), null for the model's own.</param>
internal sealed record PretrainSettings(MaeModelInfo Model, string Dataset, string? DataDir, PretrainOptions Options, MaskingOverride? Masking,
    double MinCropScale, int Threads, string? Resume, int? TrainLimit)
{
    /// <summary>The spec of the model this run trains (the declared one with the run-time masking).</summary>
    public MaeSpec Spec => Model.SpecWith(Masking);

    /// <summary>--overwrite: a new run may replace the run already in its output folder.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Whether --batch and --accum were typed (false: the recipe's default holds; an error names it as a default).</summary>
    public bool BatchTyped { get; init; } = true;
    public bool AccumTyped { get; init; } = true;

    /// <summary>A new model of this run (the official initialisation from <paramref name="seed"/>).</summary>
    public MaskedAutoencoder Build(long seed) => Model.Create(seed, Masking);
}

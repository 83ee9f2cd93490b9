// The schedule and run options finetune and linprobe share (over ClassifierOptions and RunOptions) and the lines both print.
using System.CommandLine;
using System.Globalization;
using MaeDsl.Training;
using MaeDsl.Training.Loop;

namespace MaeDsl.Cli;

/// <summary>
/// The schedule and run options that finetune and linprobe share (see <see cref="ClassifierOptions"/> and <see cref="RunOptions"/>), with
/// the defaults of the runner's own options record, and the lines both print about the lr and the result.
/// </summary>
internal sealed class ClassifierRunArguments(ClassifierOptions defaults, string runName)
{
    public readonly Option<string?> Pretrained = new("--pretrained") {
        Description = "Pre-trained MAE weights (.safetensors or official .pth); omitted: a randomly initialised encoder" };
    public readonly DeclaredOptions Schedule = new(DeclaredOptions.DefaultsOf(defaults.Run), RunOptionDeclarations.Epochs, RunOptionDeclarations.Batch,
        RunOptionDeclarations.Accum, RunOptionDeclarations.Blr, RunOptionDeclarations.Lr, RunOptionDeclarations.WeightDecay, RunOptionDeclarations.MinLr,
        RunOptionDeclarations.WarmupEpochs);
    public readonly Option<double> MinCropScale = new("--min-crop-scale") {
        Description = "RandomResizedCrop's smallest area fraction in the training transform (official 0.08)",
        DefaultValueFactory = _ => defaults.MinCropScale };
    public readonly Option<string?> Output = new("--output") {
        Description = $"Output folder (default: runs/<model key>-{Kind(defaults)}-<UTC time>, or the resumed run's folder)" };
    public readonly Option<string?> Resume = new("--resume") { Description = $"A checkpoint-*.ckpt of this {runName} run" };
    public readonly Option<bool> NoTensorBoard = new("--no-tensorboard");
    public readonly RunControlOptions Control = new();
    string? defaultOutput;   // chosen once per command line (Apply runs before and after the data is read)

    /// <summary>Adds these options, then the runner's own, then the model and data options.</summary>
    public void AddTo(Command command, EvalArguments data, params Option[] own)
    {
        foreach (var o in new Option[] { Pretrained }.Concat(Schedule.Options).Append(MinCropScale).Concat(own)
                     .Concat([Output, Resume, NoTensorBoard]))
            command.Options.Add(o);
        Control.AddTo(command);
        data.AddTo(command);
    }

    /// <summary>Checks a --resume value before any work: an existing file, and not the temporary file of an interrupted write
    /// (<c>checkpoint-last.ckpt.&lt;pid&gt;.&lt;hex&gt;.tmp</c>), which is never taken for a checkpoint.</summary>
    internal static void RequireResumable(string? resume)
    {
        OptionCheck.Require(resume is null || File.Exists(resume), "--resume", resume, "must be an existing .ckpt file");
        OptionCheck.Require(resume is null || !MaeDsl.IO.AtomicFile.IsTemporary(resume), "--resume", resume,
            "is the temporary file of an interrupted write, not a checkpoint: resume from the checkpoint-last.ckpt or checkpoint-NNNN.ckpt beside it");
    }

    /// <summary>The parsed shared options over <paramref name="options"/> (which carries the runner's own).</summary>
    /// <param name="loaded">The data; null: before loading it (the number of classes and the evaluation crop are placeholders),
    /// to validate every option before any work.</param>
    public TOptions Apply<TOptions>(TOptions options, ParseResult parse, EvalArguments data, EvalArguments.Loaded? loaded) where TOptions : ClassifierOptions
    {
        string? resume = parse.GetValue(Resume);
        RequireResumable(resume);
        var built = (TOptions)(options with
        {
            NumClasses = loaded?.Train.NumClasses ?? Math.Max(options.NumClasses, 1), MinCropScale = parse.GetValue(MinCropScale),
            EvalCropPct = loaded?.EvalCropPct ?? options.EvalCropPct,
            Run = Schedule.Bind(Control.Apply(options.Run, parse), parse) with
            {
                Seed = parse.GetValue(data.Common.Seed), Resume = resume,
                OutputDir = parse.GetValue(Output) ?? (resume is not null ? RunFolder.OfCheckpoint(resume)
                    : defaultOutput ??= RunFolder.UniqueDefault($"{data.Common.ReadModel(parse).Key}-{Kind(defaults)}")),
                TensorBoard = !parse.GetValue(NoTensorBoard),
                Threads = parse.GetValue(data.Common.Threads), Workers = Environment.ProcessorCount,   // the loaders' 0: all cores, recorded as used
                Device = Devices.Name(data.Common.ReadDevice(parse)),
            },
        });
        // a default that depends on another option follows it: the recipe's min lr (1e-6 for fine-tuning) never exceeds the lr typed
        if (!Schedule.Typed(RunOptionDeclarations.MinLr, parse) && built.Run.MinLr > built.Run.AbsoluteLr)
            built = (TOptions)(built with { Run = built.Run with { MinLr = built.Run.AbsoluteLr } });
        return built;
    }

    static string Kind(ClassifierOptions o) => o is LinearProbeOptions ? "linprobe" : "finetune";

    /// <summary>
    /// Runs a finetune or linprobe command: every option checked (<paramref name="build"/> before the data is read), --pretrained read,
    /// the run folder claimed (<see cref="RunFolder"/>), the data loaded; then <paramref name="body"/> with the weights, the data and
    /// the options built over it.
    /// </summary>
    public int RunInFolder<TOptions>(ParseResult parse, EvalArguments data, Func<EvalArguments.Loaded?, TOptions> build,
        Func<string?, EvalArguments.Loaded, TOptions, int> body) where TOptions : ClassifierOptions
    {
        var checkedOptions = build(null);
        string? weights = ReadPretrained(parse);
        using var folder = RunFolder.ClaimAsRank(checkedOptions.Run.OutputDir, checkedOptions.Run.Resume is not null, parse.GetValue(Control.Overwrite));
        return folder.Run(() =>
        {
            var loaded = data.Load(parse, checkedOptions.Run.Resume);
            return body(weights, loaded, build(loaded));
        });
    }

    /// <summary>--pretrained, checked before any work: a training checkpoint (.ckpt) is refused with the weights file beside it.</summary>
    public string? ReadPretrained(ParseResult parse)
    {
        string? path = parse.GetValue(Pretrained);
        if (path is null) return null;
        if (string.Equals(Path.GetExtension(path), ".ckpt", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException(
                $"--pretrained {path}: a training checkpoint (.ckpt, for --resume) is not a weights file; use the .safetensors written beside it " +
                $"({CheckpointSource.WeightsBeside(path)})");
        }
        return path;
    }

    /// <summary>"lr 1.25E-004 (blr 1.00E-003 × 32 / 256)", or "(absolute, --lr)", and the <see cref="WarmupNote"/>.</summary>
    public static string DescribeLr(ClassifierOptions o)
    {
        string ranks = o.Run.Ranks > 1 ? $" ({o.Run.BatchSize} × {o.Run.AccumIter} × {o.Run.Ranks} ranks)" : "";
        string source = o.Run.Lr is null ? $"blr {o.Run.BaseLr:E2} × {o.Run.EffectiveBatch}{ranks} / 256" : "absolute, --lr";
        return string.Create(CultureInfo.InvariantCulture, $"lr {o.Run.AbsoluteLr:E2} ({source}){WarmupNote(o.Run)}");
    }

    /// <summary>", warmup 5 epochs, past the run's 1: the lr never finishes its warmup (as the official code)" when the warmup reaches the run's
    /// end (a recipe's default warmup with a short --epochs), else "".</summary>
    public static string WarmupNote(RunOptions run) => run.WarmupEpochs < run.Epochs ? "" : string.Create(CultureInfo.InvariantCulture,
        $", warmup {run.WarmupEpochs} epochs, past the run's {run.Epochs}: the lr never finishes its warmup (as the official code)");

    public static void PrintResult(ClassifierRunResult result, ClassifierOptions o) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"final top-1 {result.Final.Top1:F2}% top-5 {result.Final.Top5:F2}% (max {result.Best:F2}%), training {result.TrainSeconds:F0} s; logs in " +
            $"{Path.GetFullPath(o.Run.OutputDir)}"));
}

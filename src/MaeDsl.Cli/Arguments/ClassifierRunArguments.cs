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
    public readonly Option<string?> Pretrained = new("--pretrained") { Description = "Pre-trained MAE weights (.safetensors or official .pth); omitted: a randomly initialised encoder" };
    public readonly Option<int> Epochs = new("--epochs") { DefaultValueFactory = _ => defaults.Run.Epochs };
    public readonly Option<int> Batch = new("--batch") { DefaultValueFactory = _ => defaults.Run.BatchSize };
    public readonly Option<int> Accum = new("--accum") { DefaultValueFactory = _ => defaults.Run.AccumIter };
    public readonly Option<double> Blr = new("--blr") { Description = "Base lr: lr = blr × batch × accum / 256", DefaultValueFactory = _ => defaults.Run.BaseLr };
    public readonly Option<double?> Lr = new("--lr") { Description = "Absolute lr (overrides --blr)" };
    public readonly Option<double> WeightDecay = new("--weight-decay") { DefaultValueFactory = _ => defaults.Run.WeightDecay };
    public readonly Option<double> MinLr = new("--min-lr") { DefaultValueFactory = _ => defaults.Run.MinLr };
    public readonly Option<double> Warmup = new("--warmup-epochs") { DefaultValueFactory = _ => defaults.Run.WarmupEpochs };
    public readonly Option<double> MinCropScale = new("--min-crop-scale") { Description = "RandomResizedCrop's smallest area fraction in the training transform (official 0.08)", DefaultValueFactory = _ => defaults.MinCropScale };
    public readonly Option<string> Output = new("--output") { DefaultValueFactory = _ => defaults.Run.OutputDir };
    public readonly Option<string?> Resume = new("--resume") { Description = $"A checkpoint-*.ckpt of this {runName} run" };
    public readonly Option<bool> NoTensorBoard = new("--no-tensorboard");
    public readonly RunControlOptions Control = new();

    /// <summary>Adds these options, then the runner's own, then the model and data options.</summary>
    public void AddTo(Command command, EvalArguments data, params Option[] own)
    {
        foreach (var o in new Option[] { Pretrained, Epochs, Batch, Accum, Blr, Lr, WeightDecay, MinLr, Warmup, MinCropScale }.Concat(own)
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
        return (TOptions)(options with
        {
            NumClasses = loaded?.Train.NumClasses ?? Math.Max(options.NumClasses, 1), MinCropScale = parse.GetValue(MinCropScale),
            EvalCropPct = loaded?.EvalCropPct ?? options.EvalCropPct,
            Run = Control.Apply(options.Run, parse) with
            {
                Epochs = parse.GetValue(Epochs), BatchSize = parse.GetValue(Batch), AccumIter = parse.GetValue(Accum),
                BaseLr = parse.GetValue(Blr), Lr = parse.GetValue(Lr), WeightDecay = parse.GetValue(WeightDecay),
                MinLr = parse.GetValue(MinLr), WarmupEpochs = parse.GetValue(Warmup),
                Seed = parse.GetValue(data.Common.Seed), OutputDir = parse.GetValue(Output)!, Resume = parse.GetValue(Resume),
                TensorBoard = !parse.GetValue(NoTensorBoard),
            },
        });
    }

    /// <summary>"lr 1.25E-004 (blr 1.00E-003 × 32 / 256)", or "(absolute, --lr)".</summary>
    /// <summary>--pretrained, checked before any work: a training checkpoint (.ckpt) is refused with the weights file beside it.</summary>
    public string? ReadPretrained(ParseResult parse)
    {
        string? path = parse.GetValue(Pretrained);
        if (path is null) return null;
        if (string.Equals(Path.GetExtension(path), ".ckpt", StringComparison.OrdinalIgnoreCase))
        {
            string full = Path.GetFullPath(path);
            string beside = Path.ChangeExtension(full, ".safetensors");
            if (!File.Exists(beside) && Path.GetDirectoryName(full) is { } dir && Directory.Exists(dir))
                beside = Directory.GetFiles(dir, "checkpoint-*.safetensors").Order(StringComparer.Ordinal).LastOrDefault() ?? beside;
            throw new ArgumentException($"--pretrained {path}: a training checkpoint (.ckpt, for --resume) is not a weights file; use the .safetensors written beside it ({beside})");
        }
        return path;
    }

    public static string DescribeLr(ClassifierOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"lr {o.Run.AbsoluteLr:E2} ({(o.Run.Lr is null ? $"blr {o.Run.BaseLr:E2} × {o.Run.EffectiveBatch}{(o.Run.Ranks > 1 ? $" ({o.Run.BatchSize} × {o.Run.AccumIter} × {o.Run.Ranks} ranks)" : "")} / 256" : "absolute, --lr")})");

    public static void PrintResult(ClassifierRunResult result, ClassifierOptions o) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"final top-1 {result.Final.Top1:F2}% top-5 {result.Final.Top5:F2}% (max {result.Best:F2}%), training {result.TrainSeconds:F0} s; logs in {Path.GetFullPath(o.Run.OutputDir)}"));
}

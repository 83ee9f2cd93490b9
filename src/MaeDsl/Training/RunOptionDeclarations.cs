// Every option of RunOptions declared once: the property it sets, its name on the command line (without the dashes), its class
// for a resume, its range and its help text. RunOptions.Validate, OptionClasses (config.json's comparison on resume and
// --allow-change) and the runner's command line (MaeDsl.Cli maps each to a System.CommandLine option) read these.
namespace MaeDsl.Training;

/// <summary>One option of <see cref="RunOptions"/>.</summary>
/// <param name="Property">The <see cref="RunOptions"/> property it sets.</param>
/// <param name="Name">Its name as the user types it, without the dashes ("blr").</param>
/// <param name="Class">What changing it does to a resumed run.</param>
/// <param name="Help">What it is, for the command line's help (the runner adds the recipe's default).</param>
internal abstract record RunOptionDeclaration(string Property, string Name, OptionClass Class, string Help)
{
    /// <summary>Throws an <see cref="InvalidOptionException"/> (<c>--epochs = 0 is invalid: must be >= 1</c>) when <paramref name="run"/>'s value
    /// is out of this option's range.</summary>
    public abstract void Check(RunOptions run);

    /// <summary>The value <paramref name="run"/> holds, as the help text shows a default ("none" for null).</summary>
    public abstract string Show(RunOptions run);
}

/// <summary>One option of <see cref="RunOptions"/> of type <typeparamref name="T"/>.</summary>
/// <param name="Get">Reads it from a <see cref="RunOptions"/>.</param>
/// <param name="Set">A copy of a <see cref="RunOptions"/> with it set.</param>
/// <param name="Valid">Its range (null: any value).</param>
/// <param name="Expected">What the range is, as the error line says it ("must be >= 1").</param>
internal sealed record RunOptionDeclaration<T>(string Property, string Name, OptionClass Class, string Help, Func<RunOptions, T> Get,
    Func<RunOptions, T, RunOptions> Set, Func<T, bool>? Valid = null, string Expected = "") : RunOptionDeclaration(Property, Name, Class, Help)
{
    public override void Check(RunOptions run)
    {
        var value = Get(run);
        if (Valid is not null) OptionCheck.Require(Valid(value), "--" + Name, value, Expected);
    }

    public override string Show(RunOptions run) => Get(run) switch
    {
        null => "none",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        var v => v.ToString() ?? "none",
    };
}

/// <summary>The declarations of every <see cref="RunOptions"/> property, in the order the help lists them.</summary>
internal static class RunOptionDeclarations
{
    const OptionClass T = OptionClass.Trajectory, B = OptionClass.Bookkeeping;
    static bool Finite(double x) => double.IsFinite(x);

    public static readonly RunOptionDeclaration<int> Epochs = new(nameof(RunOptions.Epochs), "epochs", OptionClass.Epochs,
        "Epochs", r => r.Epochs, (r, v) => r with { Epochs = v }, v => v >= 1, "must be >= 1");
    public static readonly RunOptionDeclaration<int> Batch = new(nameof(RunOptions.BatchSize), "batch", T,
        "Images per iteration", r => r.BatchSize, (r, v) => r with { BatchSize = v }, v => v >= 1, "must be >= 1");
    public static readonly RunOptionDeclaration<int> Accum = new(nameof(RunOptions.AccumIter), "accum", T,
        "Gradient accumulation iterations (effective batch = batch × accum)", r => r.AccumIter, (r, v) => r with { AccumIter = v }, v => v >= 1,
            "must be >= 1");
    public static readonly RunOptionDeclaration<double> Blr = new(nameof(RunOptions.BaseLr), "blr", T,
        "Base lr: lr = blr × batch × accum / 256", r => r.BaseLr, (r, v) => r with { BaseLr = v }, v => v > 0 && Finite(v), "must be a finite number > 0");
    public static readonly RunOptionDeclaration<double?> Lr = new(nameof(RunOptions.Lr), "lr", T,
        "Absolute lr (overrides --blr)", r => r.Lr, (r, v) => r with { Lr = v }, v => v is null || (v > 0 && Finite(v.Value)), "must be a finite number > 0");
    public static readonly RunOptionDeclaration<double> MinLr = new(nameof(RunOptions.MinLr), "min-lr", T,
        "The lr the cosine ends at", r => r.MinLr, (r, v) => r with { MinLr = v });   // its range depends on the lr: RunOptions.Validate
    public static readonly RunOptionDeclaration<double> WarmupEpochs = new(nameof(RunOptions.WarmupEpochs), "warmup-epochs", T,
        "Linear warmup epochs (at or past --epochs the lr never finishes its warmup, as the official code)", r => r.WarmupEpochs,
        (r, v) => r with { WarmupEpochs = v }, v => v >= 0 && Finite(v), "must be a finite number >= 0");
    public static readonly RunOptionDeclaration<double> WeightDecay = new(nameof(RunOptions.WeightDecay), "weight-decay", T,
        "Weight decay of the decayed parameters", r => r.WeightDecay, (r, v) => r with { WeightDecay = v }, v => v >= 0 && Finite(v),
            "must be a finite number >= 0");
    public static readonly RunOptionDeclaration<double?> ClipGrad = new(nameof(RunOptions.ClipGrad), "clip-grad", T,
        "Max gradient norm", r => r.ClipGrad, (r, v) => r with { ClipGrad = v }, v => v is null || (v > 0 && Finite(v.Value)),
        "must be a finite number > 0 (or not given)");
    public static readonly RunOptionDeclaration<long> Seed = new(nameof(RunOptions.Seed), "seed", T,
        "Seed of the initialisation, data order, augmentation and masking", r => r.Seed, (r, v) => r with { Seed = v });
    public static readonly RunOptionDeclaration<string> Output = new(nameof(RunOptions.OutputDir), "output", B,
        "Output folder", r => r.OutputDir, (r, v) => r with { OutputDir = v }, v => !string.IsNullOrWhiteSpace(v), "must name a folder");
    public static readonly RunOptionDeclaration<int> CheckpointEvery = new(nameof(RunOptions.CheckpointPeriod), "checkpoint-every", B,
        "Keep a numbered checkpoint every N epochs", r => r.CheckpointPeriod, (r, v) => r with { CheckpointPeriod = v }, v => v >= 1, "must be >= 1");
    public static readonly RunOptionDeclaration<int> CheckpointEverySteps = new(nameof(RunOptions.CheckpointEverySteps), "checkpoint-every-steps", B,
        "Also write checkpoint-last.ckpt every N iterations inside an epoch (0: at epoch ends only); a resume from it is bit-identical",
        r => r.CheckpointEverySteps, (r, v) => r with { CheckpointEverySteps = v }, v => v >= 0, "must be >= 1 (or 0: at epoch ends only)");
    public static readonly RunOptionDeclaration<bool> TensorBoard = new(nameof(RunOptions.TensorBoard), "tensorboard", B,
        "Write TensorBoard event files", r => r.TensorBoard, (r, v) => r with { TensorBoard = v });
    public static readonly RunOptionDeclaration<string?> Resume = new(nameof(RunOptions.Resume), "resume", B,
        "Continue from a checkpoint (.ckpt) written by this program", r => r.Resume, (r, v) => r with { Resume = v },
        v => v is null || v.Trim().Length > 0, "must name a .ckpt file");
    public static readonly RunOptionDeclaration<int> Threads = new(nameof(RunOptions.Threads), "threads", B,
        "torch threads (torch.set_num_threads)", r => r.Threads, (r, v) => r with { Threads = v }, v => v >= 0, "must be >= 1 (or 0: torch's setting)");
    public static readonly RunOptionDeclaration<int> Workers = new(nameof(RunOptions.Workers), "workers", B,   // the loaders' output does not depend on it
        "Threads that decode a batch", r => r.Workers, (r, v) => r with { Workers = v }, v => v >= 0, "must be >= 0 (0: all cores)");
    public static readonly RunOptionDeclaration<bool> SkipNonFinite = new(nameof(RunOptions.SkipNonFinite), "skip-nonfinite", B,   // only what a NaN does
        "Skip an iteration whose loss is NaN/inf (counted in the log and the checkpoints) instead of stopping the run",
        r => r.SkipNonFinite, (r, v) => r with { SkipNonFinite = v });
    public static readonly RunOptionDeclaration<Precision> Precision = new(nameof(RunOptions.Precision), "precision", T,   // bf16 rounds the matmuls
        "Number format of the matmuls", r => r.Precision, (r, v) => r with { Precision = v });
    public static readonly RunOptionDeclaration<string?> AllowChange = new(nameof(RunOptions.AllowChange), "allow-change", B,
        "On --resume, the options that change the training allowed to differ from the checkpoint's, comma-separated (e.g. blr,warmup-epochs); " +
        "recorded in history.jsonl. Raising --epochs needs none", r => r.AllowChange, (r, v) => r with { AllowChange = v });   // names: RunOptions.Validate
    public static readonly RunOptionDeclaration<int> Ranks = new(nameof(RunOptions.Ranks), "ranks", T,   // the effective batch
        "Data-parallel ranks (mpiexec -n; set by the runner from the launch)", r => r.Ranks, (r, v) => r with { Ranks = v }, v => v >= 1, "must be >= 1");
    public static readonly RunOptionDeclaration<string> Device = new(nameof(RunOptions.Device), "device", B,   // the same numbers on any device
        "Where the model computes: cpu, cuda, cuda:N or auto", r => r.Device, (r, v) => r with { Device = v });

    /// <summary>Every declaration, one per <see cref="RunOptions"/> property (a test fails when a property has none).</summary>
    public static IReadOnlyList<RunOptionDeclaration> All { get; } =
    [
        Epochs, Batch, Accum, Blr, Lr, MinLr, WarmupEpochs, WeightDecay, ClipGrad, Seed, Output, CheckpointEvery, CheckpointEverySteps, TensorBoard,
        Resume, Threads, Workers, SkipNonFinite, Precision, AllowChange, Device, Ranks,
    ];
}

// RunOptions: the options every training run shares (schedule, batch, seed, output, checkpoints, logging,
// resume, threads, loader workers, the matmuls' number format), declared once and composed into each recipe's options.
using System.Text.Json.Serialization;
using MaeDsl.Training.Optimization;

namespace MaeDsl.Training;

/// <summary>
/// What every run of the training loop shares, whatever the recipe (pre-training, fine-tuning, linear probing),
/// with the names of the official scripts' arguments (util/misc.py's loop options). The values of the official
/// scripts and of the tiny main job are <see cref="RecipePresets"/>; a recipe's options record composes one
/// (<c>PretrainOptions.Run</c>, <c>FineTuneOptions.Run</c>, <c>LinearProbeOptions.Run</c>).
/// </summary>
public sealed record RunOptions
{
    /// <summary>Total epochs of the run (--epochs).</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Images per iteration (--batch; per device in the official code).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Iterations whose gradients are accumulated before one optimizer step (--accum); effective batch = BatchSize × AccumIter.</summary>
    public int AccumIter { get; init; } = 1;
    /// <summary>Base lr (--blr): absolute lr = blr × effective batch / 256.</summary>
    public double BaseLr { get; init; } = 1e-3;
    /// <summary>Absolute lr (--lr); when set it overrides <see cref="BaseLr"/>. Null: computed (see <see cref="AbsoluteLr"/>).</summary>
    public double? Lr { get; init; }
    /// <summary>The floor the cosine reaches at the last epoch (--min-lr).</summary>
    public double MinLr { get; init; }
    /// <summary>Epochs of linear warmup (--warmup-epochs; may be fractional for a short run; at or past <see cref="Epochs"/> the lr never
    /// finishes its warmup, as in the official code).</summary>
    public double WarmupEpochs { get; init; }
    /// <summary>Weight decay of the decayed parameters (--weight-decay).</summary>
    public double WeightDecay { get; init; }
    /// <summary>Max gradient norm before each optimizer step (--clip-grad); null: no clipping (the official default).</summary>
    public double? ClipGrad { get; init; }
    /// <summary>Seeds torch, the data order, the augmentations and the masking noise of every step (--seed).</summary>
    public long Seed { get; init; }
    /// <summary>The run's folder (--output): config.json, metrics.csv, eval.csv, tensorboard/, checkpoints/.</summary>
    public string OutputDir { get; init; } = "output_dir";
    /// <summary>A numbered checkpoint (and its .safetensors weights) is kept every this many epochs and at the end (--checkpoint-every); checkpoint-last is
    /// written every epoch.</summary>
    public int CheckpointPeriod { get; init; } = 1;
    /// <summary>Write TensorBoard event files.</summary>
    public bool TensorBoard { get; init; } = true;
    /// <summary>A .ckpt of a run of the same model, recipe, seed, batch and accum to continue from (--resume); null starts afresh.</summary>
    public string? Resume { get; init; }
    /// <summary>torch threads (--threads); 0 leaves torch's setting as it is.</summary>
    public int Threads { get; init; }
    /// <summary>Threads that decode/transform a batch in the loaders a recipe builds (--workers; 0 = all cores).</summary>
    public int Workers { get; init; }
    /// <summary>Also write checkpoint-last.ckpt inside an epoch every this many iterations (--checkpoint-every-steps; 0: only at epoch ends).
    /// With accumulation it is written at the first optimizer-step boundary at or after each multiple.</summary>
    public int CheckpointEverySteps { get; init; }
    /// <summary>Skip an iteration whose loss is NaN or infinite (no backward, its accumulated gradients dropped) and count it,
    /// instead of stopping the run (--skip-nonfinite).</summary>
    public bool SkipNonFinite { get; init; }
    /// <summary>On resume, the trajectory options allowed to differ from the checkpoint's, as the command line names them without
    /// the dashes, comma-separated (--allow-change blr,warmup-epochs); every change is recorded in history.jsonl.</summary>
    public string? AllowChange { get; init; }
    /// <summary>The number format of the model's matrix multiplications (--precision fp32|bf16), set on the model by the training
    /// loop, and so used by the recipe's evaluation too: <see cref="MaeDsl.Precision.Bf16"/> runs the linear and attention matmuls
    /// in bfloat16 with float32 weights, optimizer state, LayerNorm, softmax sums and loss. It changes the trajectory.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;
    /// <summary>The device the recipe moves the model to and trains on: cpu, cuda, cuda:N, auto (<see cref="Devices.Resolve"/>).</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Data-parallel processes (ranks) that each train on BatchSize images per iteration and average their gradients
    /// (<c>mpiexec -n N</c>; set by the runner from the process group). It changes the trajectory: the effective batch.</summary>
    public int Ranks { get; init; } = 1;

    /// <summary>Images per optimizer step: BatchSize × AccumIter × Ranks (main_pretrain.py's eff_batch_size).</summary>
    [JsonIgnore] public int EffectiveBatch => BatchSize * AccumIter * Ranks;
    /// <summary>The peak lr of the schedule: <see cref="Lr"/>, or blr × effective batch / 256 as main_*.py compute it.</summary>
    [JsonIgnore] public double AbsoluteLr => Lr ?? LrSchedule.AbsoluteLr(BaseLr, EffectiveBatch);
    [JsonIgnore] public string CheckpointDir => Path.Combine(OutputDir, "checkpoints");

    /// <summary>Warmup then half-cycle cosine from <see cref="AbsoluteLr"/> to <see cref="MinLr"/> over <see cref="Epochs"/>.</summary>
    public LrSchedule Schedule() => new(AbsoluteLr, MinLr, WarmupEpochs, Epochs);

    /// <summary>
    /// Throws an <see cref="InvalidOptionException"/> unless a run over <paramref name="images"/> training images takes at least one
    /// optimizer step an epoch: the loaders drop the last partial batch, and an optimizer step comes after every <see cref="AccumIter"/>
    /// iterations of an epoch (engine_pretrain.py), so a batch larger than the data, or an accumulation longer than an epoch, would
    /// leave the weights at their initialisation. <paramref name="imagesOption"/> names what limits the images (e.g. "--train-limit 512").
    /// The message names only the options the user typed: a batch or accumulation not typed (<paramref name="batchTyped"/>,
    /// <paramref name="accumTyped"/> false) is "the default batch 256", and the fix says which option to pass
    /// ("--train-limit 100 leaves 100 training images, fewer than the default batch 256: ...; pass --batch 100 or less").
    /// <paramref name="batchOption"/> is the command's name of the batch option (results: --finetune-batch).
    /// </summary>
    internal void RequireOptimizerSteps(int images, string? imagesOption = null, bool batchTyped = true, bool accumTyped = true, string batchOption = "--batch")
    {
        string data = FormattableString.Invariant($"{images} training images");
        string batch = batchTyped ? FormattableString.Invariant($"{batchOption} {BatchSize}") : FormattableString.Invariant($"the default batch {BatchSize}");
        int iterations = images / BatchSize;
        const string noStep = "so the run would take no optimizer step";
        if (iterations == 0)
        {
            string fix = FormattableString.Invariant($"{(batchTyped ? "use" : "pass")} {batchOption} {images} or less");
            throw new InvalidOptionException(batchTyped || imagesOption is null ? batchOption : imagesOption.Split(' ')[0], batchTyped
                ? FormattableString.Invariant($"{batch} is more than the {data}{(imagesOption is null ? "" : $" ({imagesOption})")}: no full batch, ") +
                    FormattableString.Invariant($"{noStep}; {fix}")
                : FormattableString.Invariant($"{(imagesOption is null ? $"the data holds {data}" : $"{imagesOption} leaves {data}")}, fewer than {batch}: ") +
                    FormattableString.Invariant($"no full batch, {noStep}; {fix}"));
        }
        if (iterations < AccumIter)
        {
            string accum = accumTyped ? FormattableString.Invariant($"--accum {AccumIter}")
                : FormattableString.Invariant($"the default accumulation {AccumIter}");
            string on = data + (imagesOption is null ? "" : $" ({imagesOption})");
            throw new InvalidOptionException("--accum", FormattableString.Invariant(
                $"{accum} with {batch} on {on}: {iterations} iterations an epoch, fewer than {(accumTyped ? "--accum" : "the accumulation")}, {noStep}; ")
                + FormattableString.Invariant($"{(accumTyped ? "use" : "pass")} --accum {iterations} or less"));
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first option out of range as the command line spells it.</summary>
    public void Validate()
    {
        foreach (var option in RunOptionDeclarations.All) option.Check(this);   // each option's own range, from its declaration
        string lrFrom = Lr is null ? FormattableString.Invariant($"--blr {BaseLr} × {EffectiveBatch} / 256") : "--lr";   // the other option of the conflict
        OptionCheck.Require(MinLr >= 0 && MinLr <= AbsoluteLr, "--min-lr", MinLr, FormattableString.Invariant(
            $"must be in [0, lr {AbsoluteLr}] (from {lrFrom})"));
        if (AllowChange is not null)
            foreach (var name in OptionClasses.SplitAllowChange(AllowChange))
                OptionCheck.Require(OptionClasses.IsTrajectoryName(name), "--allow-change", AllowChange,
                    $"'{name}' is not an option that changes the trajectory; choose among {string.Join(", ", OptionClasses.TrajectoryNames)}");
    }
}

/// <summary>The one validation message of every option: <c>--epochs = 0 is invalid: must be >= 1</c>.</summary>
internal static class OptionCheck
{
    /// <summary>Throws an <see cref="InvalidOptionException"/> (an ArgumentException, ParamName = <paramref name="option"/>) unless <paramref
    /// name="ok"/>.</summary>
    public static void Require(bool ok, string option, object? value, string expected)
    {
        if (!ok) throw new InvalidOptionException(option, FormattableString.Invariant($"{option} = {value ?? "null"} is invalid: {expected}"));
    }
}

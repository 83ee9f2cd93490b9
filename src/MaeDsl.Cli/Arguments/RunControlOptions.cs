// The options of every training command that control the run rather than the recipe: the mid-epoch checkpoint period,
// the non-finite-loss policy, the trajectory changes a resume may make and the matmuls' number format (declared once,
// one instance per command).
using System.CommandLine;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>--checkpoint-every-steps, --skip-nonfinite, --allow-change, --overwrite (read by the commands: RunFolder) and --precision (RunOptions.CheckpointEverySteps, SkipNonFinite, AllowChange, Precision).</summary>
internal sealed class RunControlOptions
{
    public readonly Option<int> CheckpointEverySteps = new("--checkpoint-every-steps")
    {
        Description = "Also write checkpoint-last.ckpt every N iterations inside an epoch (0: at epoch ends only); a resume from it is bit-identical",
        DefaultValueFactory = _ => 0,
    };
    public readonly Option<bool> SkipNonFinite = new("--skip-nonfinite")
    {
        Description = "Skip an iteration whose loss is NaN/inf (counted in the log and the checkpoints) instead of stopping the run",
    };
    public readonly Option<string?> AllowChange = new("--allow-change")
    {
        Description = "On --resume, the options that change the training allowed to differ from the checkpoint's, comma-separated (e.g. blr,warmup-epochs); recorded in history.jsonl. Raising --epochs needs none",
    };
    public readonly Option<bool> Overwrite = new("--overwrite")
    {
        Description = "Start a new run in an --output folder that already holds one, removing its checkpoints, logs and pictures (without it such a run is refused; --resume continues it)",
    };
    public readonly Option<string> Precision = PrecisionOption.Create(" in training and in the run's evaluations (recorded in config.json; a resume must keep it)");

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { CheckpointEverySteps, SkipNonFinite, AllowChange, Overwrite, Precision }) command.Options.Add(o);
    }

    public RunOptions Apply(RunOptions run, ParseResult parse) => run with
    {
        CheckpointEverySteps = parse.GetValue(CheckpointEverySteps),
        SkipNonFinite = parse.GetValue(SkipNonFinite),
        AllowChange = parse.GetValue(AllowChange),
        Precision = PrecisionOption.Read(parse, Precision),
    };
}

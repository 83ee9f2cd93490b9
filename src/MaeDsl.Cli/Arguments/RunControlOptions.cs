// The options of every training command that control the run rather than the recipe: the mid-epoch checkpoint period,
// the non-finite-loss policy, the trajectory changes a resume may make and the matmuls' number format (declared once,
// one instance per command).
using System.CommandLine;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>--checkpoint-every-steps, --skip-nonfinite, --allow-change, --overwrite (read by the commands: RunFolder) and --precision
/// (RunOptions.CheckpointEverySteps, SkipNonFinite, AllowChange, Precision).</summary>
internal sealed class RunControlOptions
{
    // names and help texts from the declarations (RunOptionDeclarations); --precision's own (PrecisionOption)
    public readonly Option<int> CheckpointEverySteps = new("--" + RunOptionDeclarations.CheckpointEverySteps.Name)
    {
        Description = RunOptionDeclarations.CheckpointEverySteps.Help, DefaultValueFactory = _ => 0,
    };
    public readonly Option<bool> SkipNonFinite = new("--" + RunOptionDeclarations.SkipNonFinite.Name) {
        Description = RunOptionDeclarations.SkipNonFinite.Help };
    public readonly Option<string?> AllowChange = new("--" + RunOptionDeclarations.AllowChange.Name) { Description = RunOptionDeclarations.AllowChange.Help };
    public readonly Option<bool> Overwrite = new("--overwrite")
    {
        Description = "Start a new run in an --output folder that already holds one, removing its checkpoints, logs and pictures (without it such a run is " +
            "refused; --resume continues it)",
    };
    public readonly Option<string> Precision = PrecisionOption.Create(
        " in training and in the run's evaluations (recorded in config.json; a resume must keep it)");

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

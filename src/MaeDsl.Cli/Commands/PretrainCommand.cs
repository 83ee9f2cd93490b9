// `pretrain`: only the pre-training (checkpoints, logs, pictures), no evaluation.
using System.CommandLine;

namespace MaeDsl.Cli;

/// <summary>`pretrain`: only the pre-training (checkpoints, logs, pictures), no evaluation.</summary>
internal static class PretrainCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("pretrain",
            "Pre-train a model (checkpoints, metrics.csv, TensorBoard events, reconstruction grid, loss curve), without evaluation.");
        var args = new PretrainArguments(useDefault);
        args.AddTo(command);
        command.SetAction((parse, cancel) => OneLineErrors.GuardedAsync(() =>
        {
            var settings = args.Read(parse);
            var trained = Pretraining.Run(settings, cancel, PrecisionOption.IsAuto(parse, args.Control.Precision));
            trained.Folder.Dispose();
            trained.Model.Dispose();
            Console.WriteLine($"output: {settings.Options.Run.OutputDir}");
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;

namespace Quickstart.Commands;

/// <summary>`pretrain`: only the pre-training (checkpoints, logs, pictures), no evaluation.</summary>
public static class PretrainCommand
{
    public static Command Create()
    {
        var command = new Command("pretrain", "Pre-train a variant (checkpoints, metrics.csv, TensorBoard events, reconstruction grid, loss curve), without evaluation.");
        var args = new PretrainArguments();
        args.AddTo(command);
        command.SetAction((parse, cancel) => Task.FromResult(Run.Guarded(() =>
        {
            var settings = args.Read(parse);
            var trained = Pretraining.Run(settings, cancel);
            trained.Model.Dispose();
            Console.WriteLine($"output: {settings.Options.Run.OutputDir}");
            return 0;
        })));
        return command;
    }
}

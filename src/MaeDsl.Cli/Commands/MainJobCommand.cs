// The main job (no command): pre-train the default model (or --model), write pictures and a checkpoint, then
// evaluate with k-NN and the masked-patch MSE. With no model marked default and no --model it prints the help.
using System.CommandLine;
using System.CommandLine.Help;
using System.Diagnostics;

namespace MaeDsl.Cli;

/// <summary>
/// The main job (no subcommand): pre-train, write pictures and a checkpoint, then evaluate with k-NN
/// (pre-trained vs random-init encoder vs raw pixels) and the masked-patch MSE against a baseline.
/// Its last two lines are `output: PATH` and `knn_accuracy pretrained=P random_init=R raw_pixels=X`.
/// </summary>
internal static class MainJobCommand
{
    public static RootCommand Create(bool useDefault = true)
    {
        var root = new RootCommand(
            "MaeDsl: pre-trains a Masked Autoencoder declared with the MaeDsl attributes (the default model, or --model), " +
            "writes a reconstruction grid, a loss curve and a checkpoint, then evaluates the encoder with a weighted k-NN " +
            "against a randomly initialised encoder and raw pixels. Commands run the parts alone.");
        var args = new PretrainArguments(useDefault);
        args.AddTo(root);
        var evalLimit = EvaluateCommand.EvalLimitOption();
        root.Options.Add(evalLimit);
        root.SetAction((parse, cancel) =>
        {
            if (parse.GetValue(args.Common.Model) is null && !args.Common.HasDefaultModel)
                return Task.FromResult(new HelpAction().Invoke(parse)); // nothing to run: say what there is
            return OneLineErrors.GuardedAsync(() =>
            {
                var clock = Stopwatch.StartNew();
                var settings = args.Read(parse);
                int? limit = parse.GetValue(evalLimit);
                MaeDsl.Training.OptionCheck.Require(limit is null or >= 1, "--eval-limit", limit, "must be >= 1");
                var trained = Pretraining.Run(settings, cancel, PrecisionOption.IsAuto(parse, args.Control.Precision));
                using var folder = trained.Folder;   // held until results.json is written
                using var model = trained.Model;
                using var randomInit = settings.Build(settings.Options.Run.Seed);
                randomInit.Precision = model.Precision;   // the k-NN encodes both in the run's --precision (the loop set the trained one's)
                EvaluationReport.Figures figures;
                StopSignals.Says = new StopSignals.Wording("stopping the evaluation; the pre-training checkpoint is kept (again to exit at once)",
                    "the pre-training checkpoint is kept");
                try { figures = EvaluationReport.Run(model, randomInit, trained.Data, settings.Options.Run.Seed, limit, settings.Options.Run.OutputDir,
                    cancel); }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    return EvaluationStopped(settings, trained.Result.LastCheckpoint, limit, model.Precision);
                }
                finally { StopSignals.Says = StopSignals.Training; }
                Console.WriteLine(
                    FormattableString.Invariant($"time: pre-training {trained.Elapsed.TotalSeconds:F0} s, evaluation {figures.Elapsed.TotalSeconds:F0} s, ") +
                    FormattableString.Invariant(
                        $"total {clock.Elapsed.TotalSeconds:F0} s wall, {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F0} s CPU"));
                Console.WriteLine($"output: {settings.Options.Run.OutputDir}");
                Console.WriteLine(EvaluationReport.KnnLine(figures));
                return 0;
            });
        });
        return root;
    }

    /// <summary>A stop (Ctrl-C, SIGTERM) during the evaluation: one line naming the kept checkpoint and the `evaluate` command that
    /// runs the evaluation alone; results.json is not written. Exit 130 (143 after SIGTERM).</summary>
    static int EvaluationStopped(PretrainSettings settings, string checkpoint, int? limit, Precision precision)
    {
        var args = new List<string> { "evaluate", "--checkpoint", checkpoint, "--dataset", settings.Dataset };
        if (settings.DataDir is { } dataDir) args.AddRange(["--data-dir", dataDir]);
        if (limit is { } n) args.AddRange(["--eval-limit", n.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        args.AddRange(["--threads", settings.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
                       "--precision", MaeDsl.MixedPrecision.Name(precision),
                       "--device", settings.Options.Run.Device]);   // the run's, as the main job evaluates
        Console.Out.Flush();
        Console.Error.WriteLine(
            $"stopped{(StopSignals.SignalName is { } s ? $" ({s})" : "")} during the evaluation: pre-training is complete, its checkpoint {checkpoint} is " +
            $"kept; " +
                                $"run the evaluation alone with: {OneLineErrors.CommandLine(args)}");
        return StopSignals.ExitCode;
    }
}

using System.CommandLine;
using System.Diagnostics;

namespace Quickstart.Commands;

/// <summary>
/// The main job (no subcommand): pre-train, write pictures and a checkpoint, then evaluate with k-NN
/// (pre-trained vs random-init encoder vs raw pixels) and the masked-patch MSE against a baseline.
/// Its last two lines are `output: PATH` and `knn_accuracy pretrained=P random_init=R raw_pixels=X`.
/// </summary>
public static class MainJobCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "MaeDsl quickstart: pre-trains a small Masked Autoencoder (declared with the MaeDsl attributes) on Fashion-MNIST, " +
            "writes a reconstruction grid, a loss curve and a checkpoint, then evaluates the encoder with a weighted k-NN " +
            "against a randomly initialised encoder and raw pixels. Subcommands run the parts alone.");
        var args = new PretrainArguments();
        args.AddTo(root);
        var evalLimit = EvaluateCommand.EvalLimitOption();
        root.Options.Add(evalLimit);
        root.SetAction((parse, cancel) => Task.FromResult(Run.Guarded(() =>
        {
            var clock = Stopwatch.StartNew();
            var settings = args.Read(parse);
            var trained = Pretraining.Run(settings, cancel);
            using var model = trained.Model;
            using var randomInit = settings.Variant.Build(settings.Options.Run.Seed, settings.MaskRatio);
            var figures = EvaluationReport.Run(model, randomInit, trained.Data, settings.Options.Run.Seed, parse.GetValue(evalLimit), settings.Options.Run.OutputDir);
            Console.WriteLine(FormattableString.Invariant(
                $"time: pre-training {trained.Elapsed.TotalSeconds:F0} s, evaluation {figures.Elapsed.TotalSeconds:F0} s, total {clock.Elapsed.TotalSeconds:F0} s wall, {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F0} s CPU"));
            Console.WriteLine($"output: {settings.Options.Run.OutputDir}");
            Console.WriteLine(EvaluationReport.KnnLine(figures));
            return 0;
        })));
        return root;
    }
}

using System.CommandLine;
using MaeDsl.Checkpoints;
using MaeDsl.Training;
using static TorchSharp.torch;

namespace Quickstart.Commands;

/// <summary>`evaluate`: the k-NN comparison and the masked-patch MSE of a checkpoint written by `pretrain` or the main job.</summary>
public static class EvaluateCommand
{
    public static Option<int?> EvalLimitOption() => new("--eval-limit")
    {
        Description = "Use only the first N training and N held-out images for k-NN and MSE (default: all; the big presets need it on a CPU)",
    };

    public static Command Create()
    {
        var command = new Command("evaluate", "k-NN accuracy (pre-trained vs random-init encoder vs raw pixels) and masked-patch MSE vs the mean-visible baseline, from a checkpoint.");
        var checkpoint = new Option<string>("--checkpoint") { Description = "A .ckpt written by this program", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "'fashion-mnist' or an ImageFolder root", DefaultValueFactory = _ => DataSources.FashionMnistName };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of the Fashion-MNIST IDX .gz files" };
        var threads = new Option<int>("--threads") { Description = "torch threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var limit = EvalLimitOption();
        foreach (var o in new Option[] { checkpoint, dataset, dataDir, threads, limit }) command.Options.Add(o);
        command.SetAction(parse => Run.Guarded(() =>
        {
            MaeDsl.Native.TorchRuntime.EnsureLoaded();
            set_num_threads(parse.GetValue(threads));
            string path = Path.GetFullPath(parse.GetValue(checkpoint)!);
            var info = CheckpointStore.ReadInfo(path);
            var config = RunConfig.Parse(info.Config, path);
            var options = config.Run;
            var variant = Variants.Find(info.ModelName);
            double? ratio = config.Spec?.MaskRatio;
            using var model = variant.Build(options.Seed, ratio);
            CheckpointStore.LoadModel(path, model);
            using var randomInit = variant.Build(options.Seed, ratio);
            var data = DataSources.Open(parse.GetValue(dataset)!, parse.GetValue(dataDir), model.Spec.ImageSize, model.Spec.Channels);
            string output = Path.GetDirectoryName(Path.GetDirectoryName(path)!)!;
            Console.WriteLine($"checkpoint: {path} ({info.ModelName}, epoch {info.Epoch + 1}, {info.GlobalStep} iterations)");
            var figures = EvaluationReport.Run(model, randomInit, data, options.Seed, parse.GetValue(limit), output);
            Console.WriteLine($"output: {output}");
            Console.WriteLine(EvaluationReport.KnnLine(figures));
            return 0;
        }));
        return command;
    }
}

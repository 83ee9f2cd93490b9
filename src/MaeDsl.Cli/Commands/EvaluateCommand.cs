// `evaluate`: the k-NN comparison and the masked-patch MSE of a checkpoint written by `pretrain` or the main job;
// the model is the one the checkpoint names (any registered model), with the mask ratio it was trained with.
using System.CommandLine;
using MaeDsl.Checkpoints;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>`evaluate`: the k-NN comparison and the masked-patch MSE of a checkpoint written by `pretrain` or the main job.</summary>
internal static class EvaluateCommand
{
    public static Option<int?> EvalLimitOption() => new("--eval-limit")
    {
        Description = "Use only N training and N held-out images for k-NN and MSE, class-balanced subsets drawn with the run's seed (default: all; the big " +
            "presets need it on a CPU)",
    };

    public static Command Create()
    {
        var command = new Command("evaluate",
            "k-NN accuracy (pre-trained vs random-init encoder vs raw pixels) and masked-patch MSE vs the mean-visible baseline, from a checkpoint.");
        var checkpoint = new Option<string>("--checkpoint") { Description = "A .ckpt written by this program (it names its model)", Required = true };
        var common = new CommonOptions();
        common.Dataset.Description = DataSources.CheckpointDatasetHelp;
        common.Dataset.DefaultValueFactory = null;   // omitted: the checkpoint's recorded dataset (ForCheckpoint), not a parsed default
        common.AddTo(command, common.Model, common.TrainLimit, common.Seed); // the checkpoint names the model and its seed
        var limit = EvalLimitOption();
        var outputOption = new Option<string?>("--output")
        {
            Description = "Folder for results.json and the pictures (default: the checkpoint's run folder, when it is in runs/x/checkpoints; required " +
                "otherwise)",
        };
        command.Options.Add(checkpoint);
        command.Options.Add(limit);
        command.Options.Add(outputOption);
        var precision = PrecisionOption.Create(" of both encoders' k-NN features and of the masked-patch MSE");
        command.Options.Add(precision);
        command.SetAction(parse => OneLineErrors.Guarded(() =>
        {
            common.ApplyThreads(parse);
            var device = common.ReadDevice(parse);
            PrecisionOption.Read(parse, precision);   // checked before any work; auto is measured once the model is known
            string path = Path.GetFullPath(parse.GetValue(checkpoint)!);
            if (Directory.Exists(path))
                throw new ArgumentException(
                    $"--checkpoint {path}: a folder; give a .ckpt file written by this program (e.g. runs/x/checkpoints/checkpoint-last.ckpt)");
            int? evalLimit = parse.GetValue(limit);
            OptionCheck.Require(evalLimit is null or >= 1, "--eval-limit", evalLimit, "must be >= 1");
            string output = parse.GetValue(outputOption) is { } given ? Path.GetFullPath(given)
                : RunFolderOf(path) ?? throw new ArgumentException(
                    $"--checkpoint {path} is not in a run's checkpoints folder (runs/x/checkpoints with runs/x/config.json): give --output for results.json");
            CheckpointSource.Open(path).RequirePretraining("evaluate");
            var info = CheckpointStore.ReadInfo(path);
            var config = RunConfig.Parse(info.Config, path);
            var (dataset, datasetLine) = DataSources.ForCheckpoint(
                parse.GetResult(common.Dataset) is { Implicit: false } ? parse.GetValue(common.Dataset) : null, config, path);
            var options = config.Run;
            var registered = CommonOptions.Resolve(info.ModelName);
            var masking = MaskingOverride.For(registered.Spec, config.Spec?.MaskRatio, null);
            using var model = registered.Create(options.Seed, masking);
            CheckpointStore.LoadModel(path, model);
            using var randomInit = registered.Create(options.Seed, masking);
            model.Precision = randomInit.Precision = PrecisionOption.Decide(parse, precision, model.Spec, EvaluationReport.EvalBatch);
            Console.WriteLine(datasetLine);
            var data = DataSources.Open(dataset, parse.GetValue(common.DataDir), model.Spec.ImageSize, model.Spec.Channels);
            OutputPath.CreateFolder(output, "--output");
            Devices.MoveModel(model, device);
            Devices.MoveModel(randomInit, device);
            Console.WriteLine($"checkpoint: {path} ({info.ModelName}, epoch {info.Epoch + 1}, {info.GlobalStep} iterations)");
            var figures = EvaluationReport.Run(model, randomInit, data, options.Seed, evalLimit, output);
            Console.WriteLine($"output: {output}");
            Console.WriteLine(EvaluationReport.KnnLine(figures));
            return 0;
        }));
        return command;
    }

    /// <summary>The run folder of a checkpoint in runs/x/checkpoints (runs/x, which holds config.json), or null.</summary>
    internal static string? RunFolderOf(string checkpoint)
    {
        var dir = Path.GetDirectoryName(checkpoint);
        if (dir is null || Path.GetFileName(dir) != "checkpoints") return null;
        var run = Path.GetDirectoryName(dir);
        return run is not null && File.Exists(Path.Combine(run, RunConfig.FileName)) ? run : null;
    }
}

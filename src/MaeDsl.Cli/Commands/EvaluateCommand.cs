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
        Description = "Use only the first N training and N held-out images for k-NN and MSE (default: all; the big presets need it on a CPU)",
    };

    public static Command Create()
    {
        var command = new Command("evaluate", "k-NN accuracy (pre-trained vs random-init encoder vs raw pixels) and masked-patch MSE vs the mean-visible baseline, from a checkpoint.");
        var checkpoint = new Option<string>("--checkpoint") { Description = "A .ckpt written by this program (it names its model)", Required = true };
        var common = new CommonOptions();
        common.AddTo(command, common.Model, common.TrainLimit, common.Seed); // the checkpoint names the model and its seed
        var limit = EvalLimitOption();
        command.Options.Add(checkpoint);
        command.Options.Add(limit);
        command.SetAction(parse => Run.Guarded(() =>
        {
            common.ApplyThreads(parse);
            string path = Path.GetFullPath(parse.GetValue(checkpoint)!);
            var info = CheckpointStore.ReadInfo(path);
            var config = RunConfig.Parse(info.Config, path);
            var options = config.Run;
            var registered = CommonOptions.Resolve(info.ModelName);
            var masking = MaskingOverride.For(registered.Spec, config.Spec?.MaskRatio, null);
            using var model = registered.Create(options.Seed, masking);
            CheckpointStore.LoadModel(path, model);
            using var randomInit = registered.Create(options.Seed, masking);
            var data = DataSources.Open(parse.GetValue(common.Dataset)!, parse.GetValue(common.DataDir), model.Spec.ImageSize, model.Spec.Channels);
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

// The model and data options of finetune, linprobe (the shared ones plus --test-limit), and their loading:
// the model, its data, a held-out split, the evaluation crop.
using System.CommandLine;
using MaeDsl;
using MaeDsl.Data;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>The model and data options of the finetune and linprobe commands (the same names as pretrain's).</summary>
internal sealed class EvalArguments(bool useDefault = true)
{
    public readonly CommonOptions Common = new(useDefault);
    public readonly Option<int?> TestLimit = new("--test-limit") {
        Description = "Evaluate on N held-out images only (a class-balanced subset drawn with --seed)" };

    public void AddTo(Command command)
    {
        Common.AddTo(command);
        command.Options.Add(TestLimit);
    }

    public sealed record Loaded(MaeModelInfo Model, DataSources Data, IImageDataset Train, IImageDataset Test, double EvalCropPct, string Description)
    {
        /// <summary>How a limited training set was drawn (config.json's "inputs"), or null.</summary>
        public string? TrainSubset { get; init; }
    }

    /// <summary>The model and its data: training set, held-out set (required), and the evaluation crop.</summary>
    /// <param name="resume">The checkpoint resumed (a limited set of an older run keeps its first N images).</param>
    public Loaded Load(ParseResult parse, string? resume = null)
    {
        Common.ApplyThreads(parse);
        var model = Common.ReadModel(parse);
        var spec = model.Spec;
        int? trainLimit = Common.ReadTrainLimit(parse), testLimit = parse.GetValue(TestLimit);
        OptionCheck.Require(testLimit is null or >= 1, "--test-limit", testLimit, "must be >= 1");
        var data = DataSources.Open(parse.GetValue(Common.Dataset)!, parse.GetValue(Common.DataDir), spec.ImageSize, spec.Channels);
        if (data.Test is null)
            throw new ArgumentException(
                $"{data.Description}: no held-out split to evaluate on (give the 'train' folder of an ImageFolder with a sibling 'val' folder).");
        long seed = parse.GetValue(Common.Seed);
        var (train, subset) = DataSources.LimitedTrain(data.Train, trainLimit, seed, resume);   // class-balanced, drawn with the run's seed
        var test = SubsetDataset.Balanced(data.Test, testLimit, seed);
        return new Loaded(model, data, train, test, data.EvalCropPct,
            $"{data.Description}; using {train.Count} training and {test.Count} held-out " +
                $"images{(subset is null && testLimit is null ? "" : " (class-balanced subsets)")}")
        {
            TrainSubset = subset,
        };
    }
}

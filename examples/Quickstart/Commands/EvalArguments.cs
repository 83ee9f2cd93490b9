using System.CommandLine;
using MaeDsl;
using MaeDsl.Data;

namespace Quickstart.Commands;

/// <summary>The model and data options of the finetune, linprobe and results commands (the same names as pretrain's).</summary>
sealed class EvalArguments
{
    public readonly Option<string> Variant = new("--variant") { Description = $"Model: {string.Join(", ", Variants.All.Select(v => v.Key))}", DefaultValueFactory = _ => "tiny" };
    public readonly Option<string> Dataset = new("--dataset") { Description = $"'{DataSources.FashionMnistName}' or the root of an ImageFolder 'train' folder with a sibling 'val'", DefaultValueFactory = _ => DataSources.FashionMnistName };
    public readonly Option<string?> DataDir = new("--data-dir") { Description = "Folder of the Fashion-MNIST IDX .gz files (default: $MAEDSL_FASHION_MNIST or /usr/share/datasets/fashion-mnist)" };
    public readonly Option<int?> TrainLimit = new("--train-limit") { Description = "Use the first N training images only" };
    public readonly Option<int?> TestLimit = new("--test-limit") { Description = "Evaluate on the first N held-out images only" };
    public readonly Option<int> Threads = new("--threads") { Description = "torch threads", DefaultValueFactory = _ => Environment.ProcessorCount };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Variant, Dataset, DataDir, TrainLimit, TestLimit, Threads })
            command.Options.Add(o);
    }

    public sealed record Loaded(Variant Variant, DataSources Data, IImageDataset Train, IImageDataset Test, double EvalCropPct, string Description);

    /// <summary>The variant and its data: training set, held-out set (required), and the evaluation crop.</summary>
    public Loaded Load(ParseResult parse)
    {
        int threads = parse.GetValue(Threads);
        if (threads < 1) throw new ArgumentException($"--threads = {threads} is invalid: must be >= 1");
        TorchSharp.torch.set_num_threads(threads);
        var variant = Variants.Find(parse.GetValue(Variant)!);
        var spec = variant.Spec;
        var data = DataSources.Open(parse.GetValue(Dataset)!, parse.GetValue(DataDir), spec.ImageSize, spec.Channels);
        if (data.Test is null)
            throw new ArgumentException($"{data.Description}: no held-out split to evaluate on (give the 'train' folder of an ImageFolder with a sibling 'val' folder).");
        int? trainLimit = parse.GetValue(TrainLimit), testLimit = parse.GetValue(TestLimit);
        if (trainLimit is < 1 || testLimit is < 1) throw new ArgumentException($"--train-limit/--test-limit must be >= 1, got {trainLimit}/{testLimit}");
        var train = SubsetDataset.First(data.Train, trainLimit);
        var test = SubsetDataset.First(data.Test, testLimit);
        // util/datasets.py: resize to size / 0.875 and centre-crop; images already at the model's size stay as they are
        bool native = data.Test.Height == spec.ImageSize && data.Test.Width == spec.ImageSize;
        return new Loaded(variant, data, train, test, native ? 1.0 : 0.875,
            $"{data.Description}; using {train.Count} training and {test.Count} held-out images");
    }
}

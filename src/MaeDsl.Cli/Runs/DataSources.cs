// The runner's data: Fashion-MNIST or an ImageFolder, opened for a model's image size and channels, with the
// pre-training stream and the evaluation batches.
using MaeDsl.Data;
using MaeDsl.Training.Pretraining;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>
/// The runner's data: Fashion-MNIST (IDX files) or an ImageFolder, brought to the model's image size and
/// channel count. Pre-training uses the official augmentation (RandomResizedCrop (0.2, 1), flip, normalise);
/// evaluation resizes and centre-crops (nothing at all for 28×28 Fashion-MNIST on a 28×28 model).
/// </summary>
public sealed class DataSources
{
    public const string FashionMnistName = "fashion-mnist";

    DataSources(string description, IImageDataset train, IImageDataset? test, Normalization normalization, int imageSize, int modelChannels)
    {
        Description = description; Train = train; Test = test; Normalization = normalization; ImageSize = imageSize; ModelChannels = modelChannels;
    }

    public string Description { get; }
    public IImageDataset Train { get; }
    /// <summary>The held-out split (Fashion-MNIST's t10k, or an ImageFolder's "val" sibling); null when there is none.</summary>
    public IImageDataset? Test { get; }
    public Normalization Normalization { get; }
    public int ImageSize { get; }
    public int ModelChannels { get; }

    /// <param name="dataset">"fashion-mnist" or the root of an ImageFolder (root/class_x/*.jpg).</param>
    /// <param name="dataDir">Fashion-MNIST's folder (default /usr/share/datasets/fashion-mnist).</param>
    public static DataSources Open(string dataset, string? dataDir, int imageSize, int modelChannels)
    {
        if (string.Equals(dataset, FashionMnistName, StringComparison.OrdinalIgnoreCase))
        {
            var train = FashionMnist.Load(dataDir, train: true);
            var test = FashionMnist.Load(dataDir, train: false);
            // Fashion-MNIST's own mean/std on its one channel; for an RGB model the grey channel is repeated
            // (ChannelConvertedDataset, as ImageFolder converts by itself) and the one mean/std serves every channel.
            return new DataSources($"Fashion-MNIST ({train.Folder}: {train.Count} train, {test.Count} test{(modelChannels == 1 ? "" : $", grey → {modelChannels} channels")})",
                ForModel(train, modelChannels), ForModel(test, modelChannels), Normalization.FashionMnist, imageSize, modelChannels);
        }
        CheckName(dataset);
        var folder = new ImageFolder(dataset, modelChannels);
        string? valRoot = FindValidation(dataset);
        var val = valRoot is null ? null : new ImageFolder(valRoot, modelChannels);
        // What the listing passed over (folder symlinks, special files, dangling links): one count line per split, and the run goes on.
        foreach (var summary in new[] { folder.SkipSummary, val?.SkipSummary })
            if (summary is not null) Console.WriteLine($"skipped: {summary}");
        var normalization = modelChannels == 3 ? Normalization.ImageNet : Normalization.For(folder);
        return new DataSources($"ImageFolder {Path.GetFullPath(dataset)} ({folder.Count} images{(val is null ? "" : $", held-out {val.Count} in {valRoot}")})",
            folder, val, normalization, imageSize, modelChannels);
    }

    /// <summary>Refuses (one line) a --dataset that is neither Fashion-MNIST nor an existing folder, before anything is loaded.</summary>
    public static void CheckName(string dataset)
    {
        if (!string.Equals(dataset, FashionMnistName, StringComparison.OrdinalIgnoreCase) && !Directory.Exists(dataset))
            throw new DirectoryNotFoundException($"--dataset '{dataset}' is neither '{FashionMnistName}' nor an existing ImageFolder root (root/class_x/image.jpg)");
    }

    /// <summary>What config.json's "inputs" records as the dataset: its name, or the ImageFolder root's absolute path.</summary>
    public static string Identity(string dataset) =>
        string.Equals(dataset, FashionMnistName, StringComparison.OrdinalIgnoreCase) ? FashionMnistName : Path.GetFullPath(dataset).TrimEnd(Path.DirectorySeparatorChar);

    static string? FindValidation(string root)
    {
        var full = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        if (!string.Equals(Path.GetFileName(full), "train", StringComparison.OrdinalIgnoreCase)) return null;
        var val = Path.Combine(Path.GetDirectoryName(full)!, "val");
        return Directory.Exists(val) ? val : null;
    }

    /// <summary>util/datasets.py's evaluation crop: resize to size / 0.875 and centre-crop; 1 when the held-out images already have the model's size.</summary>
    public double EvalCropPct => (Test ?? Train) is var d && NativeSize(d) ? 1.0 : 0.875;

    bool NativeSize(IImageDataset d) => d.Height == ImageSize && d.Width == ImageSize;

    public IImageTransform PretrainTransform(double minScale = 0.2) => Transforms.Pretrain(ImageSize, Normalization, minScale);

    /// <summary>The evaluation transform of <paramref name="d"/>, normalising with <paramref name="normalization"/> (default: the data's).</summary>
    public IImageTransform EvalTransform(IImageDataset d, Normalization? normalization = null) =>
        NativeSize(d) ? Transforms.NormalizeOnly(normalization ?? Normalization) : Transforms.Eval(ImageSize, normalization ?? Normalization);

    static IImageDataset ForModel(IImageDataset d, int channels) => d.Channels == channels ? d : new ChannelConvertedDataset(d, channels);

    /// <summary>The pre-training stream: shuffled, augmented, drop_last, deterministic in (seed, epoch).</summary>
    public IPretrainBatches PretrainBatches(int batchSize, long seed, double minScale = 0.2, int? limit = null, DistributedShard? shard = null) =>
        new LoaderBatches(new BatchLoader(SubsetDataset.First(Train, limit), batchSize, PretrainTransform(minScale), shuffle: true, dropLast: true, seed: seed, prefetch: 3, workers: 1)
            { Shard = shard ?? DistributedShard.Whole });

    /// <summary>Evaluation batches (dataset order, every image) with labels.</summary>
    public IEnumerable<(Tensor Images, Tensor Labels)> EvalBatches(IImageDataset d, int batchSize, int? limit = null)
    {
        var source = SubsetDataset.First(d, limit);
        var loader = new BatchLoader(source, batchSize, EvalTransform(d), shuffle: false, dropLast: false, prefetch: 2, workers: 1);
        return Batch.Pairs(loader.Epoch(0));
    }
}

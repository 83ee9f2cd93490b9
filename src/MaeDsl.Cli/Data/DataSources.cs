// The runner's data: Fashion-MNIST or an ImageFolder, opened for a model's image size and channels, with the
// pre-training stream and the evaluation batches.
using MaeDsl.Data;
using MaeDsl.Training;
using MaeDsl.Training.Pretraining;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>
/// The runner's data: Fashion-MNIST (IDX files) or an ImageFolder, brought to the model's image size and
/// channel count. Pre-training uses the official augmentation (RandomResizedCrop (0.2, 1), flip, normalise);
/// evaluation resizes and centre-crops (nothing at all for 28×28 Fashion-MNIST on a 28×28 model).
/// </summary>
internal sealed class DataSources
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
            return new DataSources(
                $"Fashion-MNIST ({train.Folder}: {train.Count} train, {test.Count} test{(modelChannels == 1 ? "" : $", grey → {modelChannels} channels")})",
                ForModel(train, modelChannels), ForModel(test, modelChannels), Normalization.FashionMnist, imageSize, modelChannels);
        }
        CheckName(dataset);
        var folder = new ImageFolder(dataset, modelChannels);
        string? valRoot = FindValidation(dataset);
        // the training split defines the classes; the held-out split maps to them by name (a class it lacks is reported,
        // a class it adds is refused here, before any work)
        var val = valRoot is null ? null : new ImageFolder(valRoot, modelChannels, classes: folder.ClassNames);
        if (val is { MissingClasses.Count: > 0 })
            Console.WriteLine($"held-out split {valRoot} lacks {val.MissingClasses.Count} of the {folder.NumClasses} training classes " +
                              $"({string.Join(", ", val.MissingClasses.Take(10))}{(val.MissingClasses.Count > 10 ? ", …" : "")}): it is evaluated on the " +
                                  $"others, labels by class name");
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
            throw new DirectoryNotFoundException(
                $"--dataset '{dataset}' is neither '{FashionMnistName}' nor an existing ImageFolder root (root/class_x/image.jpg)");
    }

    /// <summary>--dataset's help in the commands that read a checkpoint (<see cref="ForCheckpoint"/>).</summary>
    public const string CheckpointDatasetHelp =
        $"'{FashionMnistName}' or the root of an ImageFolder (default: the dataset the checkpoint's run recorded in its configuration, else " +
            $"{FashionMnistName})";

    /// <summary>
    /// The dataset a command on a checkpoint uses: <paramref name="given"/> (an explicit --dataset), else the one the checkpoint's run
    /// recorded (config.json's "inputs"), else Fashion-MNIST; and the line that says which. A recorded ImageFolder that is gone is
    /// one error telling the user to pass --dataset.
    /// </summary>
    public static (string Dataset, string Line) ForCheckpoint(string? given, RunConfig? config, string checkpoint)
    {
        if (given is not null) return (given, $"dataset: {Identity(given)} (--dataset)");
        string? recorded = config?.Inputs[OptionClasses.InputKeys.Dataset] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        if (recorded is null) return (FashionMnistName, $"dataset: {FashionMnistName} (the default: {Path.GetFileName(checkpoint)} records no dataset)");
        if (!string.Equals(recorded, FashionMnistName, StringComparison.OrdinalIgnoreCase) && !Directory.Exists(recorded))
            throw new DirectoryNotFoundException(
                $"{checkpoint} was trained on the ImageFolder {recorded}, which is gone: pass --dataset (the folder's new place, or '{FashionMnistName}')");
        return (recorded, $"dataset: {recorded} (the one {Path.GetFileName(checkpoint)} was trained on; --dataset to use another)");
    }

    /// <summary>What config.json's "inputs" records as the dataset: its name, or the ImageFolder root's absolute path.</summary>
    public static string Identity(string dataset) =>
        string.Equals(dataset, FashionMnistName, StringComparison.OrdinalIgnoreCase) ? FashionMnistName
            : Path.GetFullPath(dataset).TrimEnd(Path.DirectorySeparatorChar);

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

    /// <summary>The pre-training loader's decoding threads (recorded as config.json's "workers").</summary>
    internal const int PretrainWorkers = 1;

    /// <summary>config.json's "inputs" key of a limited training set: how its images were drawn ("class-balanced, seed N").</summary>
    public const string TrainSubsetKey = "train_subset";

    /// <summary>
    /// The training images of a run with --train-limit <paramref name="limit"/>: a class-balanced subset drawn with the run's
    /// <paramref name="seed"/> (<see cref="SubsetDataset.Balanced"/>), and what config.json's "inputs" records of it (null: no limit).
    /// A resume of a checkpoint that records a limited set but no "train_subset" (written before balanced subsets) keeps the
    /// first N images it was trained on, and says so.
    /// </summary>
    public static (IImageDataset Train, string? Recorded) LimitedTrain(IImageDataset train, int? limit, long seed, string? resume)
    {
        if (limit is not { } n || n >= train.Count) return (train, null);
        if (resume is not null && File.Exists(resume) && Path.GetExtension(resume) == ".ckpt")
        {
            var inputs = RunConfig.Parse(MaeDsl.Checkpoints.CheckpointStore.ReadInfo(resume).Config, resume).Inputs;
            if (inputs[OptionClasses.InputKeys.TrainImages] is not null && inputs[TrainSubsetKey] is null)
            {
                Console.WriteLine($"note: {Path.GetFileName(resume)} was trained on the first {n} images (written before --train-limit drew a class-balanced " +
                    $"subset): the resume keeps them");
                return (SubsetDataset.First(train, n), null);
            }
        }
        return (SubsetDataset.Balanced(train, n, seed), $"class-balanced, seed {seed.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }

    /// <summary>The pre-training stream over <paramref name="train"/> (default: all of <see cref="Train"/>): shuffled, augmented, drop_last,
    /// deterministic in (seed, epoch); pinned for a CUDA <paramref name="device"/>; this rank's <paramref name="shard"/> of each epoch.</summary>
    public IPretrainBatches PretrainBatches(int batchSize, long seed, double minScale = 0.2, IImageDataset? train = null,
        TorchSharp.torch.Device? device = null, DistributedShard? shard = null)
    {
        train ??= Train;   // RunOptions.RequireOptimizerSteps refused a batch larger than it before any work
        return new LoaderBatches(new BatchLoader(train, batchSize, PretrainTransform(minScale), shuffle: true, dropLast: true, seed: seed, prefetch: 3,
            workers: PretrainWorkers) { PinnedFor = device, Shard = shard ?? DistributedShard.Whole });
    }


    /// <summary>Evaluation batches (dataset order) with labels: every image, the first <paramref name="limit"/>, or with
    /// <paramref name="balancedSeed"/> a class-balanced subset of <paramref name="limit"/> drawn with it (--eval-limit).</summary>
    public IEnumerable<(Tensor Images, Tensor Labels)> EvalBatches(IImageDataset d, int batchSize, int? limit = null, long? balancedSeed = null)
    {
        var source = balancedSeed is { } seed ? SubsetDataset.Balanced(d, limit, seed) : SubsetDataset.First(d, limit);
        var loader = new BatchLoader(source, batchSize, EvalTransform(d), shuffle: false, dropLast: false, prefetch: 2, workers: 1);
        return Batch.Pairs(loader.Epoch(0));
    }
}

// `embed`: the frozen encoder's features (after its final norm; cls token or mean of the patch tokens) of every image,
// streamed batch by batch to a NumPy .npy (float32, N × width) or a .safetensors, with an index file of the images.
using System.CommandLine;
using System.Text;
using MaeDsl.Data;
using MaeDsl.Evaluation;
using MaeDsl.IO;

namespace MaeDsl.Cli;

/// <summary><c>embed</c>: frozen encoder features of loose images or a dataset, as .npy or .safetensors plus an index CSV.</summary>
internal static class EmbedCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("embed",
            "Write the frozen encoder's features of every image (N × width float32, .npy or .safetensors) and an index of the images in the same order");
        var checkpoint = new Option<string>("--checkpoint") {
            Description = "Pre-training weights: a .ckpt or .safetensors written by pretrain, or an official .pth (the encoder is enough)", Required = true };
        var images = new Option<string?>("--images") { Description = "An image file or a folder of images. Default: the training split of --dataset" };
        var pool = new Option<string>("--pool") { Description = "cls: the cls token; mean: the mean of the patch tokens (both after the encoder's final norm)",
            DefaultValueFactory = _ => "cls" };
        pool.AcceptOnlyFromAmong("cls", "mean");
        var limit = new Option<int?>("--limit") { Description = ImageInputs.LimitHelp("Embed", "--seed") };
        var seed = new Option<long?>("--seed") { Description = "Seed of the --limit subset (default: the checkpoint's run seed; 0 when it records none)" };
        var batch = new Option<int>("--batch") { Description = "Images per forward pass", DefaultValueFactory = _ => 64 };
        var output = new Option<string>("--output") {
            Description = "features.npy (NumPy) or features.safetensors (tensor 'features'); the index goes to <name>.index.csv",
            DefaultValueFactory = _ => "features.npy" };
        var common = new CommonOptions(useDefault);
        common.Dataset.Description = DataSources.CheckpointDatasetHelp;
        common.Dataset.DefaultValueFactory = null;   // omitted: the checkpoint's recorded dataset (ForCheckpoint), not a parsed default
        common.AddTo(command, common.TrainLimit, common.Seed);
        var precision = PrecisionOption.Create(" of the encoder (the features are float32 either way)");
        foreach (var o in new Option[] { checkpoint, images, pool, limit, seed, batch, output, precision }) command.Options.Add(o);

        command.SetAction((parse, cancel) => OneLineErrors.GuardedAsync(() =>
        {
            common.ApplyThreads(parse);
            var device = common.ReadDevice(parse);
            PrecisionOption.Read(parse, precision);   // checked before any work; auto is measured once the model is known
            int? n = parse.GetValue(limit);
            int batchSize = parse.GetValue(batch);
            Training.OptionCheck.Require(n is null or >= 1, "--limit", n, "must be >= 1");
            Training.OptionCheck.Require(batchSize >= 1, "--batch", batchSize, "must be >= 1");
            string outputPath = OutputPath.Check(parse.GetValue(output)!, "--output");
            if (!MatrixFileWriter.IsSupported(outputPath)) throw new ArgumentException($"--output: {outputPath} must end with .npy or .safetensors");
            string indexPath = OutputPath.Check(IndexPath(outputPath), "--output");
            OutputPath.NotAnInput(outputPath, "--output", parse.GetValue(checkpoint)!, "--checkpoint");
            OutputPath.NotAnInput(indexPath, "--output's index", parse.GetValue(checkpoint)!, "--checkpoint");
            bool npy = string.Equals(Path.GetExtension(outputPath), ".npy", StringComparison.OrdinalIgnoreCase);
            OutputPath.ReplacesOnlyItsKind(outputPath, "--output", npy ? "a NumPy .npy" : "a features .safetensors written by embed",
                npy ? OutputPath.Kinds.Npy : OutputPath.Kinds.FeaturesSafetensors);
            OutputPath.ReplacesOnlyItsKind(indexPath, "--output's index", "an index written by embed", OutputPath.Kinds.CsvWithHeader(IndexHeader));
            var poolKind = parse.GetValue(pool) == "mean" ? FeaturePool.Mean : FeaturePool.Cls;
            var source = CheckpointSource.Open(parse.GetValue(checkpoint)!);
            var info = source.ResolveModel(parse.GetValue(common.Model), "embed");
            using var model = source.LoadMae(info, null, needDecoder: false, "embed");
            Devices.MoveModel(model, device);
            var spec = model.Spec;
            model.Precision = PrecisionOption.Decide(parse, precision, spec, batchSize);
            var inputs = ImageInputs.Open(parse.GetValue(images), source.Dataset(parse, common.Dataset, parse.GetValue(images) is not null),
                parse.GetValue(common.DataDir),
                spec.ImageSize, spec.Channels, CheckpointSource.RecordedNormalization(source.Config), "train", n, parse.GetValue(seed)
                    ?? source.Config?.Run.Seed ?? 0);
            int count = inputs.Images.Count;
            Console.WriteLine($"embed: {info.ClassName} from {source.Path}; {inputs.Description}; {poolKind.ToString().ToLowerInvariant()} pooling, {count} " +
                $"× {spec.EncoderWidth} float32");
            var loader = new BatchLoader(inputs.Images, batchSize, inputs.Transform, shuffle: false, dropLast: false, prefetch: 2, workers: 1)
            {
                PinnedFor = device,
            };
            using (var writer = new MatrixFileWriter(outputPath, count, spec.EncoderWidth))
            {
                ImageProgress.Run("embedded", count, report =>
                {
                    foreach (var b in loader.Epoch(0, cancellationToken: cancel))
                    {
                        using (b) writer.Append(Features.Compute(model, b.Images, poolKind));
                        cancel.ThrowIfCancellationRequested();
                        report((int)writer.Written);
                    }
                });
                writer.Complete();
            }
            AtomicFile.Write(indexPath, stream =>
            {
                using var w = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
                w.Write(IndexHeader + "\n");
                for (int i = 0; i < count; i++) w.Write($"{i},{Csv.Field(inputs.NameOf(i))}\n");
            });
            Console.WriteLine($"index: {indexPath}");
            Console.WriteLine($"output: {outputPath}");
            return 0;
        }, "embed", () => $"{parse.GetValue(output)} and its index"));
        return command;
    }

    const string IndexHeader = "index,image";

    /// <summary>features.npy → features.index.csv, next to it.</summary>
    public static string IndexPath(string output) => Path.Combine(Path.GetDirectoryName(output)!, Path.GetFileNameWithoutExtension(output) + ".index.csv");
}

/// <summary>CSV fields (RFC 4180 quoting).</summary>
internal static class Csv
{
    public static string Field(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
}

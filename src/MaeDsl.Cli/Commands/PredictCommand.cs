// `predict`: the top-k classes and probabilities of each image under a fine-tuned (or linear-probe) checkpoint, with the
// class names of the data it was trained on (recorded in the checkpoint's configuration).
using System.CommandLine;
using System.Globalization;
using System.Text;
using MaeDsl.Data;
using MaeDsl.IO;
using MaeDsl.Native;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary><c>predict</c>: top-k classes per image of loose images (--images) or of a dataset's split (--dataset), as a CSV.</summary>
internal static class PredictCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("predict", "Classify images with a fine-tuned checkpoint: the top-k classes and probabilities of each image, as a CSV");
        var checkpoint = new Option<string>("--checkpoint") { Description = "A .ckpt (or its .safetensors) written by finetune or linprobe", Required = true };
        var images = new Option<string?>("--images") { Description = "An image file or a folder of images. Default: the --split split of --dataset" };
        var split = new Option<string>("--split") { Description = "With --dataset: 'test' (Fashion-MNIST's t10k, an ImageFolder's 'val' sibling) or " +
            "'train'", DefaultValueFactory = _ => "test" };
        var limit = new Option<int?>("--limit") { Description = ImageInputs.LimitHelp("Classify", "--seed") };
        var seed = new Option<long?>("--seed") { Description = "Seed of the --limit subset (default: the checkpoint's run seed; 0 when it records none)" };
        var top = new Option<int>("--top") { Description = "Classes per image", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--batch") { Description = "Images per forward pass", DefaultValueFactory = _ => 64 };
        var output = new Option<string>("--output") { Description = "The CSV: image, then class and probability for each rank",
            DefaultValueFactory = _ => "predictions.csv" };
        var common = new CommonOptions(useDefault);
        common.Dataset.Description = DataSources.CheckpointDatasetHelp;
        common.Dataset.DefaultValueFactory = null;   // omitted: the checkpoint's recorded dataset (ForCheckpoint), not a parsed default
        common.AddTo(command, common.Model, common.TrainLimit, common.Seed);   // --dataset, --data-dir, --threads: the model is the checkpoint's
        var precision = PrecisionOption.Create(" of the classifier's encoder (the head and softmax stay fp32)");
        foreach (var o in new Option[] { checkpoint, images, split, limit, seed, top, batch, output, precision }) command.Options.Add(o);

        command.SetAction((parse, cancel) => OneLineErrors.GuardedAsync(() =>
        {
            common.ApplyThreads(parse);
            var device = common.ReadDevice(parse);
            PrecisionOption.Read(parse, precision);   // checked before any work; auto is measured once the model is known
            int k = parse.GetValue(top), batchSize = parse.GetValue(batch);
            int? n = parse.GetValue(limit);
            string which = parse.GetValue(split)!;
            Training.OptionCheck.Require(k >= 1, "--top", k, "must be >= 1");
            Training.OptionCheck.Require(batchSize >= 1, "--batch", batchSize, "must be >= 1");
            Training.OptionCheck.Require(n is null or >= 1, "--limit", n, "must be >= 1");
            Training.OptionCheck.Require(which is "train" or "test", "--split", which, "'train' or 'test'");
            string outputPath = OutputPath.Check(parse.GetValue(output)!, "--output");
            OutputPath.RequireExtension(outputPath, "--output", "a CSV", ".csv");
            OutputPath.NotAnInput(outputPath, "--output", parse.GetValue(checkpoint)!, "--checkpoint");
            OutputPath.ReplacesOnlyItsKind(outputPath, "--output", "a predictions CSV written by predict", OutputPath.Kinds.CsvWithHeader("image,class_1,"));
            string? imagePath = parse.GetValue(images);
            if (imagePath is not null && !File.Exists(imagePath) && !Directory.Exists(imagePath))
                throw new FileNotFoundException($"--images '{imagePath}' is neither an image file nor a folder");
            if (imagePath is null && parse.GetResult(common.Dataset) is { Implicit: false }) DataSources.CheckName(parse.GetValue(common.Dataset)!);
            var source = CheckpointSource.Open(parse.GetValue(checkpoint)!);
            var (model, config) = source.LoadClassifier();
            using var _ = model;
            model.Precision = PrecisionOption.Decide(parse, precision, model.Spec, batchSize);
            Devices.MoveModel(model, device);
            var names = CheckpointSource.ClassNames(config);
            if (names is null || names.Count != model.NumClasses)
            {
                Console.WriteLine($"note: {source.Path} records no class names (written before they were saved); the classes are named by index");
                names = Enumerable.Range(0, model.NumClasses).Select(i => $"class_{i}").ToArray();
            }
            k = Math.Min(k, model.NumClasses);
            var inputs = ImageInputs.Open(imagePath, source.Dataset(parse, common.Dataset, imagePath is not null), parse.GetValue(common.DataDir),
                model.Spec.ImageSize, model.Spec.Channels,
                CheckpointSource.RecordedNormalization(config), which, n, parse.GetValue(seed) ?? config?.Run.Seed ?? 0);
            Console.WriteLine($"predict: {source.ModelName} from {source.Path} ({model.NumClasses} classes); {inputs.Description}");
            var loader = new BatchLoader(inputs.Images, batchSize, inputs.Transform, shuffle: false, dropLast: false, prefetch: 2, workers: 1)
            {
                PinnedFor = device,
            };
            var csv = new StringBuilder("image");
            for (int r = 1; r <= k; r++) csv.Append(CultureInfo.InvariantCulture, $",class_{r},probability_{r}");
            csv.Append('\n');
            var shown = new List<string>();
            int done = 0;
            ImageProgress.Run("predicted", inputs.Images.Count, report =>
            {
                foreach (var b in loader.Epoch(0, cancellationToken: cancel))
                {
                    using (b)
                    {
                        var (probs, ids) = NoGcDuringTorch.Run(() =>
                        {
                            using var noGrad = no_grad();
                            using var scope = NewDisposeScope();
                            model.eval();
                            var (values, indices) = model.forward(b.Images).softmax(-1).topk(k, dim: -1);
                            // read back: the sync point
                            return (values.to(ScalarType.Float32).cpu().data<float>().ToArray(), indices.cpu().data<long>().ToArray());
                        });
                        for (int i = 0; i < b.Indices.Length; i++)
                        {
                            string name = inputs.NameOf(b.Indices[i]);
                            csv.Append(Csv.Field(name));
                            for (int r = 0; r < k; r++)
                                csv.Append(CultureInfo.InvariantCulture, $",{Csv.Field(names[(int)ids[i * k + r]])},{probs[i * k + r]:F6}");
                            csv.Append('\n');
                            done++;
                            if (shown.Count < 20)
                                shown.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: {names[(int)ids[i * k]]} ({probs[i * k]:F4})"));
                        }
                        cancel.ThrowIfCancellationRequested();
                        report(done);
                    }
                }
            });
            foreach (var line in shown) Console.WriteLine(line);
            if (done > shown.Count) Console.WriteLine($"… and {done - shown.Count} more in the CSV");
            AtomicFile.Write(outputPath, stream => { var bytes = new UTF8Encoding(false).GetBytes(csv.ToString()); stream.Write(bytes); });
            Console.WriteLine($"output: {outputPath}");
            return 0;
        }, "predict", () => parse.GetValue(output)!));
        return command;
    }
}

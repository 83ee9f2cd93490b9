// `reconstruct`: the paper's figure (original | masked | reconstruction | reconstruction with the visible patches pasted
// back) for a checkpoint on loose images or a dataset, K seeded masks per image, drawn by the code that draws a pre-training
// run's own pictures (ReconstructionGrid).
using System.CommandLine;
using System.Globalization;
using MaeDsl.Data;
using MaeDsl.Native;
using MaeDsl.Visualization;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary><c>reconstruct</c>: reconstruction grids of a pre-training checkpoint (.ckpt, .safetensors, or an official .pth with a decoder).</summary>
internal static class ReconstructCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("reconstruct",
            "Draw original | masked | reconstruction | reconstruction + visible patches for each image, with K seeded masks per image");
        var checkpoint = new Option<string>("--checkpoint") { Description = "Pre-training weights: a .ckpt or .safetensors written by pretrain, or an " +
            "official mae_visualize_*.pth", Required = true };
        var images = new Option<string?>("--images") { Description = "An image file or a folder of images (any size and channel count; converted as the " +
            "data pipeline does). Default: the held-out split of --dataset" };
        var limit = new Option<int>("--limit") { Description = ImageInputs.LimitHelp("Draw", "--seed") + " (default: 8)", DefaultValueFactory = _ => 8 };
        var masks = new Option<int>("--masks-per-image") { Description = "Masks drawn per image (one row each)", DefaultValueFactory = _ => 1 };
        var ratio = new Option<double?>("--mask-ratio") { Description = "Fraction of patches removed (default: the checkpoint's)" };
        var masking = new Option<string?>("--masking") { Description = "random, block or grid (default: the checkpoint's)" };
        masking.AcceptOnlyFromAmong("random", "block", "grid");
        var seed = new Option<long?>("--seed") { Description = "Seed of the masks and of the --limit subset (default: the checkpoint's run seed, as its own " +
            "pictures; 0 when it records none)" };
        var output = new Option<string>("--output") { Description = "The PNG to write (a NormalizePixels model's gets -normpix-restored in its " +
            "name)", DefaultValueFactory = _ => "reconstruction.png" };
        var common = new CommonOptions(useDefault);
        common.Dataset.Description = DataSources.CheckpointDatasetHelp;
        common.Dataset.DefaultValueFactory = null;   // omitted: the checkpoint's recorded dataset (ForCheckpoint), not a parsed default
        common.AddTo(command, common.TrainLimit, common.Seed);
        var precision = PrecisionOption.Create(" of the encoder and decoder");
        foreach (var o in new Option[] { checkpoint, images, limit, masks, ratio, masking, seed, output, precision }) command.Options.Add(o);

        command.SetAction(parse => OneLineErrors.Guarded(() =>
        {
            common.ApplyThreads(parse);
            var device = common.ReadDevice(parse);
            PrecisionOption.Read(parse, precision);   // checked before any work; auto is measured once the model is known
            int n = parse.GetValue(limit), k = parse.GetValue(masks);
            Training.OptionCheck.Require(n >= 1, "--limit", n, "must be >= 1");
            Training.OptionCheck.Require(k >= 1, "--masks-per-image", k, "must be >= 1");
            string outputPath = OutputPath.Check(parse.GetValue(output)!, "--output");
            OutputPath.RequireExtension(outputPath, "--output", "a PNG", ".png");
            OutputPath.NotAnInput(outputPath, "--output", parse.GetValue(checkpoint)!, "--checkpoint");
            OutputPath.ReplacesOnlyItsKind(outputPath, "--output", "a PNG", OutputPath.Kinds.Png);
            var source = CheckpointSource.Open(parse.GetValue(checkpoint)!);
            var info = source.ResolveModel(parse.GetValue(common.Model), "reconstruct");
            MaskingStrategy? strategy = parse.GetValue(masking) is { } m ? Enum.Parse<MaskingStrategy>(m, ignoreCase: true) : null;
            var maskingOverride = source.Masking(info, parse.GetValue(ratio), strategy);
            var spec = info.SpecWith(maskingOverride);
            if (spec.Channels is not (1 or 3))
                throw new ArgumentException($"{info.Key} has {spec.Channels} channels; reconstruct draws grey (1) or RGB (3) images");
            using var model = source.LoadMae(info, maskingOverride, needDecoder: true, "reconstruct");
            model.Precision = PrecisionOption.Decide(parse, precision, spec, n);
            Devices.MoveModel(model, device);
            long runSeed = parse.GetValue(seed) ?? source.Config?.Run.Seed ?? 0;
            var inputs = ImageInputs.Open(parse.GetValue(images), source.Dataset(parse, common.Dataset, parse.GetValue(images) is not null),
                parse.GetValue(common.DataDir),
                spec.ImageSize, spec.Channels, CheckpointSource.RecordedNormalization(source.Config), "test", n, runSeed);
            Console.WriteLine($"reconstruct: {info.ClassName} from {source.Path}; {inputs.Description}; " +
                string.Create(CultureInfo.InvariantCulture,
                    $"{spec.Masking.ToString().ToLowerInvariant()} masking, ratio {spec.MaskRatio}, {k} mask(s) per image, seed {runSeed}"));
            if (spec.NormalizePixels)
                Console.WriteLine("NormalizePixels: the model predicts per-patch normalised pixels; each removed patch is de-normalised with the true mean " +
                    "and variance " +
                                  "of that patch of the original image (borrowed from the target), as the PNG's caption says");
            string written = NoGcDuringTorch.Run(() => Draw(model, spec, inputs, k, runSeed, outputPath));
            Console.WriteLine($"output: {written}");
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// Loads the images, draws K masks for them (mask j from the generator of Seeds.Derive(seed, MaskNoise, −1, −1 − j), mask 0
    /// being the one a pre-training run's pictures use), runs the model and saves the grid, rows image by image, mask by mask.
    /// </summary>
    static string Draw(MaskedAutoencoder model, MaeSpec spec, ImageInputs inputs, int k, long seed, string output)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        int n = inputs.Images.Count;
        var loader = new BatchLoader(inputs.Images, n, inputs.Transform, shuffle: false, dropLast: false, prefetch: 1, workers: 1);
        Tensor? images = null;
        foreach (var (batch, _) in Batch.Pairs(loader.Epoch(0))) images = batch.clone();
        if (images is null) throw new InvalidDataException("reconstruct: no image to draw");
        var preds = new List<Tensor>();
        var masks = new List<Tensor>();
        for (int j = 0; j < k; j++)
        {
            using var g = new Generator((ulong)Seeds.Derive(seed, Seeds.Streams.MaskNoise, -1, -1 - j));
            var noise = MaeDsl.Masking.DrawNoise(spec, n, g);
            var predChunks = new List<Tensor>();
            var maskChunks = new List<Tensor>();
            const int Chunk = 64;
            for (int start = 0; start < n; start += Chunk)
            {
                long len = Math.Min(Chunk, n - start);
                using var output1 = model.forward(images.narrow(0, start, len), noise.narrow(0, start, len));
                predChunks.Add(output1.Pred.detach().clone());
                maskChunks.Add(output1.Mask.detach().clone());
            }
            preds.Add(predChunks.Count == 1 ? predChunks[0] : cat(predChunks, 0));
            masks.Add(maskChunks.Count == 1 ? maskChunks[0] : cat(maskChunks, 0));
        }
        Tensor rowsImages = images, rowsPred = preds[0], rowsMask = masks[0];
        if (k > 1)
        {
            rowsImages = images.repeat_interleave(k, 0);
            rowsPred = stack(preds, 1).reshape(n * k, spec.NumPatches, -1);
            rowsMask = stack(masks, 1).reshape(n * k, spec.NumPatches);
        }
        return ReconstructionGrid.Save(output, rowsImages, rowsPred, rowsMask, spec.PatchSize, spec.Channels,
            inputs.Normalization.Mean, inputs.Normalization.Std, spec.NormalizePixels);
    }
}

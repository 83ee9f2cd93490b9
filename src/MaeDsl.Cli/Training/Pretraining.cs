// One pre-training run as the command line describes it: its folder claimed (RunFolder), data, model, Pretrainer, pictures at every kept checkpoint.
using System.Diagnostics;
using MaeDsl;
using MaeDsl.Data;
using MaeDsl.Training;
using MaeDsl.Training.Loop;
using MaeDsl.Training.Pretraining;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>Pre-trains a model as the settings say, drawing pictures at every kept checkpoint and at the end.</summary>
internal static class Pretraining
{
    /// <param name="Folder">The claim on the run folder: the caller disposes it once it has written everything (the main job's evaluation).</param>
    public sealed record Outcome(MaskedAutoencoder Model, PretrainResult Result, DataSources Data, IReadOnlyList<string> Pictures, TimeSpan Elapsed,
        IDisposable Folder);

    /// <param name="autoPrecision">--precision auto: the run's precision is measured here (or kept from the resumed checkpoint)
    /// and replaces the settings' (see <see cref="PrecisionOption.Choose"/>).</param>
    public static Outcome Run(PretrainSettings s, CancellationToken cancel, bool autoPrecision = false)
    {
        var folder = RunFolder.ClaimAsRank(s.Options.Run.OutputDir, s.Resume is not null, s.Overwrite);
        try { return folder.Run(() => Run(s, folder, cancel, autoPrecision)); }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    static Outcome Run(PretrainSettings s, IDisposable folder, CancellationToken cancel, bool autoPrecision)
    {
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        set_num_threads(s.Threads);
        var spec = s.Spec;
        var clock = Stopwatch.StartNew();
        var data = DataSources.Open(s.Dataset, s.DataDir, spec.ImageSize, spec.Channels);
        var group = DataParallel.Join();
        var precision = DataParallel.Agree(PrecisionOption.Choose(autoPrecision, s.Options.Run.Precision, spec, MaeDsl.PrecisionWorkload.Pretrain,
            s.Options.Run.BatchSize, s.Resume));
        s = s with { Options = s.Options with { Run = DataParallel.WithRanks(s.Options.Run) with { Precision = precision.Precision } } };
        var o = s.Options.Run;
        o.RequireOptimizerSteps(s.TrainLimit is { } limit ? Math.Min(limit, data.Train.Count) : data.Train.Count,
            s.TrainLimit is { } n ? $"--train-limit {n}" : null,
            s.BatchTyped, s.AccumTyped);
        Console.WriteLine($"data: {data.Description}");
        Console.WriteLine($"model: {s.Model.ClassName} — {spec.ImageSize}×{spec.ImageSize}×{spec.Channels}, patch {spec.PatchSize} " +
            $"({spec.GridSize}×{spec.GridSize} = {spec.NumPatches} patches, {spec.VisibleCount} visible at mask ratio {spec.MaskRatio}), " +
                          $"encoder {spec.EncoderDepth}×{spec.EncoderWidth} ({spec.EncoderHeads} heads), decoder {spec.DecoderDepth}×{spec.DecoderWidth} " +
                              $"({spec.DecoderHeads} heads), {spec.ParameterCount:N0} trainable parameters");
        Console.WriteLine(
            FormattableString.Invariant(
                $"recipe: {o.Epochs} epochs, batch {o.BatchSize} × accum {o.AccumIter}{(o.Ranks > 1 ? $" × {o.Ranks} ranks" : "")} = {o.EffectiveBatch}, ") +
            FormattableString.Invariant(
                $"blr {o.BaseLr:G3} → lr {o.AbsoluteLr:G3}, warmup {o.WarmupEpochs} epochs, cosine to {o.MinLr}, ") +
            FormattableString.Invariant($"AdamW ({s.Options.Beta1}, {s.Options.Beta2}), ") +
            FormattableString.Invariant($"wd {o.WeightDecay}, seed {o.Seed}, {s.Threads} threads, on {o.Device}, precision: {precision}") +
            ClassifierRunArguments.WarmupNote(o));

        var model = s.Build(o.Seed);
        var preview = PreviewImages(data, 8, o.Seed);
        using var pictures = new PretrainPictures(preview, data.Normalization, o.OutputDir, spec, o.Seed);
        preview.Dispose();
        var written = new List<string>();
        using var trainer = new Pretrainer(model, s.Options);
        trainer.Loop.Group = group;
        // the data's identity and the transform, checked on resume (the loader adds the image count and the class names)
        trainer.Loop.Inputs[OptionClasses.InputKeys.Dataset] = DataSources.Identity(s.Dataset);
        trainer.Loop.Inputs[OptionClasses.InputKeys.MinCropScale] = s.MinCropScale;
        if (precision.Auto is { } auto) trainer.Loop.Derived[PrecisionChoice.DerivedKey] = auto.ToJson();
        trainer.CheckpointWritten += e =>
        {
            pictures.OnCheckpoint(e);
            if (e.Kept || e.Final) written.AddRange(pictures.LastWritten);
        };
        var (train, subset) = DataSources.LimitedTrain(data.Train, s.TrainLimit, o.Seed, s.Resume);
        if (subset is not null) trainer.Loop.Inputs[DataSources.TrainSubsetKey] = subset;
        var result = trainer.Run(data.PretrainBatches(o.BatchSize, o.Seed, s.MinCropScale, train, trainer.Device, trainer.Loop.Shard), s.Resume,
            cancel: cancel);
        Console.WriteLine(FormattableString.Invariant(
            $"pre-training done: {result.Steps} iterations, last-epoch mean loss {result.MeanLossLastEpoch:F4}, ") +
            FormattableString.Invariant($"{result.ImagesPerSecond:F0} images/s, {result.Elapsed.TotalSeconds:F0} s"));
        Console.WriteLine($"checkpoint: {result.LastCheckpoint}");
        Console.WriteLine($"weights (official names): {trainer.Store.WeightsPath(o.Epochs - 1)}");
        foreach (var p in written.Where(p => Path.GetDirectoryName(p) == o.OutputDir)) Console.WriteLine($"picture: {p}");
        model.eval();
        return new Outcome(model, result, data, written, clock.Elapsed, folder);
    }

    /// <summary>n held-out images (or training images when there is no held-out split), un-augmented: a class-balanced subset drawn with
    /// the run's <paramref name="seed"/>, the images `reconstruct --limit n` draws by default.</summary>
    public static Tensor PreviewImages(DataSources data, int n, long seed)
    {
        var source = data.Test ?? data.Train;
        foreach (var (images, _) in data.EvalBatches(source, n, limit: n, balancedSeed: seed))
            return images.clone();
        throw new InvalidDataException($"{data.Description}: no image to preview");
    }
}

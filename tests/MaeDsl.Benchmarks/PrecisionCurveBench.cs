using MaeDsl.Data;
using MaeDsl.Training;
using MaeDsl.Training.Loop;
using MaeDsl.Training.Pretraining;
using ScottPlot;
using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `precision-curve [--steps 1000] [--batch 64] [--seeds 2] [--threads N] [--output docs/precision-curve.png] [--data-dir D] [--keep DIR [--only-seed S]]`:
/// the main job's tiny model (MaeBenchTiny: 28×28 grey, patch 4, encoder 4 × 64, decoder 2 × 64) pre-trained on
/// Fashion-MNIST through the library's public <see cref="Pretrainer"/> (the tiny recipe: AdamW (0.9, 0.95), wd 0.05,
/// blr 1.5e-3, warmup then cosine over the run, RandomResizedCrop + flip, 75 % random masking) for --steps iterations
/// in fp32 and in bf16 (<c>RunOptions.Precision</c>, which the training loop sets on the model), seeds 0 … --seeds − 1 each. Seed s of both precisions
/// shares the initialisation, data order, augmentation and masking noise, so the two differ by arithmetic only.
/// Writes the curves into one PNG, prints the mean loss of the last 100 steps of each curve and the differences
/// seed to seed (same precision) and precision to precision (same seed).
/// --keep DIR keeps each run's folder (DIR/fp32-seed0, …) and reuses a folder whose metrics.csv already holds the --steps losses,
/// so that the runs can be split over processes: `--keep DIR --only-seed 1` trains seed 1 alone (no figure), a later
/// `--keep DIR` trains what is missing and draws all. The curves are deterministic, so they do not depend on the split.
/// </summary>
static class PrecisionCurveBench
{
    public static int Run(Options options)
    {
        int steps = options.Int("--steps", 1000), batch = options.Int("--batch", 64), seeds = options.Int("--seeds", 2);
        int threads = options.Int("--threads", Environment.ProcessorCount);
        string output = options.String("--output") ?? Path.Combine("docs", "precision-curve.png");
        if (steps < 100) throw new ArgumentException("--steps must be at least 100 (the summary is the mean of the last 100)");
        set_num_threads(threads);
        var train = FashionMnist.Load(options.String("--data-dir"), train: true);
        // whole epochs of exactly `steps` iterations: the fewest epochs whose images fit in the training set
        int epochs = Enumerable.Range(1, steps).First(e => steps % e == 0 && (long)(steps / e) * batch <= train.Count);
        int images = steps / epochs * batch;
        var recipe = RecipePresets.TinyPretrain;
        Console.WriteLine($"precision-curve: MaeBenchTiny, {steps} steps = {epochs} epochs of the first {images} Fashion-MNIST training images, batch {batch}, " +
                          $"blr {recipe.Run.BaseLr}, warmup {F(epochs / 6.0, 3)} epochs, {threads} threads; {Machine()}");

        var curves = new Dictionary<(Precision P, int Seed), double[]>();
        string? keep = options.String("--keep");
        int? onlySeed = options.String("--only-seed") is { } only ? int.Parse(only, C) : null;
        if (onlySeed is not null && keep is null) throw new ArgumentException("--only-seed needs --keep (the folder the other seeds are read from later)");
        string root = keep ?? Path.Combine(Path.GetTempPath(), $"maedsl-precision-curve-{Environment.ProcessId}");
        try
        {
            for (int seed = 0; seed < seeds; seed++)
                foreach (var precision in new[] { Precision.Fp32, Precision.Bf16 })
                {
                    if (onlySeed is not null && seed != onlySeed) continue;
                    string folder = Path.Combine(root, $"{precision}-seed{seed}".ToLowerInvariant());
                    string csv = Path.Combine(folder, TrainingLog.CsvFileName);
                    if (keep is not null && File.Exists(csv) && TrainingLog.ReadCsv(csv) is { Count: var n } kept && n == steps)
                    {
                        curves[(precision, seed)] = kept.Select(m => (double)m.Loss).ToArray();
                        Console.WriteLine($"  {precision} seed {seed}: {steps} steps read from {csv}, loss first {F(curves[(precision, seed)][0], 4)}, " +
                                          $"final {F(curves[(precision, seed)][^1], 4)}, last-100 mean {F(Last100(curves[(precision, seed)]), 4)}");
                        continue;
                    }
                    if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);   // an incomplete run starts afresh
                    var o = recipe with
                    {
                        Run = recipe.Run with
                        {
                            Epochs = epochs, BatchSize = batch, WarmupEpochs = epochs / 6.0, Seed = seed, TensorBoard = false,
                            CheckpointPeriod = epochs, OutputDir = folder,
                            Precision = precision,
                        },
                    };
                    using var model = new MaeBenchTiny(seed);
                    using var trainer = new Pretrainer(model, o);
                    var loader = new BatchLoader(SubsetDataset.First(train, images), batch, Transforms.Pretrain(28, Normalization.FashionMnist),
                        shuffle: true, dropLast: true, seed: seed, prefetch: 3, workers: 1);
                    var result = trainer.Run(new LoaderBatches(loader), console: TextWriter.Null);
                    var history = TrainingLog.ReadCsv(Path.Combine(o.Run.OutputDir, TrainingLog.CsvFileName));
                    if (history.Count != steps) throw new InvalidOperationException($"expected {steps} logged steps, got {history.Count}");
                    curves[(precision, seed)] = history.Select(m => (double)m.Loss).ToArray();
                    Console.WriteLine($"  {precision} seed {seed}: {result.Steps} steps in {F(result.Elapsed.TotalSeconds, 1)} s ({F(result.ImagesPerSecond, 0)} img/s), " +
                                      $"loss first {F(curves[(precision, seed)][0], 4)}, final {F(curves[(precision, seed)][^1], 4)}, last-100 mean {F(Last100(curves[(precision, seed)]), 4)}");
                }
        }
        finally
        {
            if (keep is null) try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
        if (onlySeed is not null) return 0;

        Draw(output, curves, steps, batch);
        Console.WriteLine($"figure: {Path.GetFullPath(output)}");
        // the summary: last-100-step means; differences between seeds (same precision) and between precisions (same seed)
        var seedDiffs = new List<double>();
        var precisionDiffs = new List<double>();
        foreach (var p in new[] { Precision.Fp32, Precision.Bf16 })
            for (int a = 0; a < seeds; a++)
                for (int b = a + 1; b < seeds; b++)
                    seedDiffs.Add(Math.Abs(Last100(curves[(p, a)]) - Last100(curves[(p, b)])));
        for (int s = 0; s < seeds; s++)
            precisionDiffs.Add(Math.Abs(Last100(curves[(Precision.Fp32, s)]) - Last100(curves[(Precision.Bf16, s)])));
        // and the per-step standard error of a 100-step mean (the noise of the summary itself)
        double stderr = curves.Values.Select(c => StdErrLast100(c)).Average();
        Console.WriteLine($"last-100-step mean loss: " + string.Join(", ", curves.Select(kv => $"{kv.Key.P} seed {kv.Key.Seed} {F(Last100(kv.Value), 4)}")));
        Console.WriteLine($"|seed-to-seed| (same precision): {string.Join(", ", seedDiffs.Select(d => F(d, 4)))}; max {F(seedDiffs.DefaultIfEmpty().Max(), 4)}");
        Console.WriteLine($"|fp32-to-bf16| (same seed)     : {string.Join(", ", precisionDiffs.Select(d => F(d, 4)))}; max {F(precisionDiffs.Max(), 4)}");
        Console.WriteLine($"standard error of one last-100 mean (step-to-step scatter / 10, averaged over curves): {F(stderr, 4)}");
        string means = string.Join(" ", curves.Select(kv => $"{kv.Key.P.ToString().ToLowerInvariant()}_s{kv.Key.Seed}={F(Last100(kv.Value), 4)}"));
        Console.WriteLine($"precision-curve steps={steps} batch={batch} {means} seed_diff_max={F(seedDiffs.DefaultIfEmpty().Max(), 4)} precision_diff_max={F(precisionDiffs.Max(), 4)}");
        return 0;
    }

    static double Last100(double[] curve) => curve[^100..].Average();

    static double StdErrLast100(double[] curve)
    {
        var tail = curve[^100..];
        double mean = tail.Average();
        return Math.Sqrt(tail.Sum(x => (x - mean) * (x - mean)) / (tail.Length - 1)) / Math.Sqrt(tail.Length);
    }

    static void Draw(string path, Dictionary<(Precision P, int Seed), double[]> curves, int steps, int batch)
    {
        var plot = new Plot();
        var palette = new Dictionary<(Precision, int), Color>
        {
            [(Precision.Fp32, 0)] = Colors.Blue, [(Precision.Fp32, 1)] = Colors.DarkCyan,
            [(Precision.Bf16, 0)] = Colors.OrangeRed, [(Precision.Bf16, 1)] = Colors.DarkMagenta,
        };
        const int window = 20;
        foreach (var ((p, seed), losses) in curves)
        {
            double[] xs = Enumerable.Range(1, losses.Length).Select(i => (double)i).ToArray();
            var color = palette.TryGetValue((p, seed), out var c) ? c : Colors.Gray;
            var raw = plot.Add.ScatterLine(xs, losses);
            raw.Color = color.WithAlpha(0.15);
            raw.LineWidth = 1;
            var smooth = plot.Add.ScatterLine(xs, MovingAverage(losses, window));
            smooth.Color = color;
            smooth.LineWidth = 2;
            smooth.LinePattern = p == Precision.Bf16 ? LinePattern.Dashed : LinePattern.Solid;
            smooth.LegendText = $"{p.ToString().ToLowerInvariant()}, seed {seed} (mean of {window} steps)";
        }
        plot.XLabel("step");
        plot.YLabel("training loss (MSE on removed patches)");
        plot.Title($"Tiny MAE on Fashion-MNIST, {steps} steps of batch {batch}: fp32 (solid) vs bf16 (dashed), {curves.Count / 2} seeds each");
        plot.ShowLegend(Alignment.UpperRight);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 1000, 600);
    }

    /// <summary>The mean of the last <paramref name="window"/> values at each step (fewer at the start), from prefix sums.</summary>
    static double[] MovingAverage(double[] ys, int window)
    {
        var prefix = new double[ys.Length + 1];
        for (int i = 0; i < ys.Length; i++) prefix[i + 1] = prefix[i] + ys[i];
        return Enumerable.Range(1, ys.Length).Select(end => (prefix[end] - prefix[Math.Max(0, end - window)]) / Math.Min(end, window)).ToArray();
    }
}

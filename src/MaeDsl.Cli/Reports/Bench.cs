// What `bench` measures: pre-training iterations and unmasked encodes of a model (random tensors or real data through the
// runner's loader), a large matmul of the same precision, and the analytic FLOP count that relates them.
using System.Diagnostics;
using System.Globalization;
using MaeDsl;
using MaeDsl.Training.Optimization;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>The settings of one `bench` run, validated by <see cref="BenchCommand"/> before any work.</summary>
internal sealed record BenchSettings(MaeModelInfo Model, int Batch, int Iterations, int Warmup, int Threads, Precision Precision,
    string? Dataset, string? DataDir, int? TrainLimit, long Seed, int GemmSize, bool AutoPrecision = false);

/// <summary>The figures of one `bench` run.</summary>
internal sealed record BenchResult(BenchSettings Settings, double TrainImagesPerSecond, double EncodeImagesPerSecond,
    double TrainImagesPerCpuSecond, double EncodeImagesPerCpuSecond, double TrainFlopsPerImage, double EncodeFlopsPerImage, double GemmGflops,
    MaeDsl.AutoPrecisionDecision? Auto = null)
{
    /// <summary>The fraction of the matmul rate the training iterations reach: train img/s × FLOP/img / GEMM FLOP/s.</summary>
    public double Efficiency => TrainImagesPerSecond * TrainFlopsPerImage / (GemmGflops * 1e9);

    /// <summary>
    /// The last line, one key=value each, at least 4 significant digits and no exponent:
    /// <c>bench model=tiny precision=fp32 batch=256 threads=2 train_img_per_s=… encode_img_per_s=… gflop_per_img=… gemm_gflops=… efficiency=… auto=fp32</c>
    /// (auto: what <c>--precision auto</c> chooses for this model and batch here)
    /// </summary>
    public string MachineLine()
    {
        var s = Settings;
        return $"bench model={s.Model.Key} precision={Bench.Name(s.Precision)} batch={s.Batch} threads={s.Threads} " +
               $"train_img_per_s={Bench.Sig(TrainImagesPerSecond)} encode_img_per_s={Bench.Sig(EncodeImagesPerSecond)} " +
               $"gflop_per_img={Bench.Sig(TrainFlopsPerImage / 1e9)} gemm_gflops={Bench.Sig(GemmGflops)} efficiency={Bench.Sig(Efficiency)}" +
               (Auto is { } auto ? $" auto={Bench.Name(auto.Precision)}" : "");
    }
}

/// <summary>
/// `bench`: times <see cref="BenchSettings.Iterations"/> pre-training iterations (forward with the model's masking, backward,
/// AdamW step, each in a dispose scope) after <see cref="BenchSettings.Warmup"/> untimed ones, on one random batch or, with
/// a dataset, on the real pre-training stream (<see cref="DataSources.PretrainBatches"/>: loader, augmentation and prefetch
/// included in the time); then the unmasked encoder (<c>Encode</c>, eval, inference mode) on full images at the same batch;
/// then an n×n·n×n matmul of the same precision and threads (the best of 3 after one warm-up). Before all that, what
/// <c>--precision auto</c> chooses for pre-training this model at this batch here (measured, or cached), which
/// <c>--precision auto</c> then times and the last line reports as <c>auto=</c>.
/// </summary>
internal static class Bench
{
    public static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Name(Precision p) => MaeDsl.MixedPrecision.Name(p);

    /// <summary>At least 4 significant digits, never an exponent: 2.25 → "2.250", 1115.3 → "1115", 0.81234 → "0.8123".</summary>
    public static string Sig(double x)
    {
        if (x == 0 || !double.IsFinite(x)) return x.ToString(C);
        int digits = Math.Clamp(3 - (int)Math.Floor(Math.Log10(Math.Abs(x))), 0, 15);
        return x.ToString("F" + digits, C);
    }

    public static BenchResult Run(BenchSettings s, TextWriter log)
    {
        var spec = s.Model.Spec;
        // the data first: a bad --dataset fails before the model is built
        var data = s.Dataset is null ? null : DataSources.Open(s.Dataset, s.DataDir, spec.ImageSize, spec.Channels);
        var (auto, autoReport) = MeasureAuto(spec, s.Batch);   // what auto chooses here, reported whatever --precision is
        if (s.AutoPrecision) s = s with { Precision = auto.Precision };
        using var model = s.Model.Create(s.Seed);
        model.Precision = s.Precision;
        log.WriteLine(string.Create(C,
            $"{s.Model.ClassName}: {spec.ParameterCount:N0} parameters, {s.Threads} threads, {Name(s.Precision)}, batch {s.Batch}, " +
                                       $"{s.Iterations} timed iterations after {s.Warmup}; data: {data?.Description ?? "one random batch"}"));
        log.WriteLine(autoReport);

        // ---- pre-training iterations ----
        using var optimizer = WeightDecay.CreateOptimizer(model, 1e-4, 0.05);
        using var random = data is null ? randn(s.Batch, spec.Channels, spec.ImageSize, spec.ImageSize, generator: new Generator((ulong)s.Seed)) : null;
        using var stream = data is null ? null : Forever(data.PretrainBatches(s.Batch, s.Seed, train: MaeDsl.Data.SubsetDataset.Balanced(data.Train,
            s.TrainLimit, s.Seed))).GetEnumerator();
        void TrainStep()
        {
            if (stream is not null && !stream.MoveNext()) throw new InvalidDataException("the pre-training stream ended"); // it never does
            using var batch = stream?.Current; // made by the loader's thread, so no scope of ours holds it
            MaeDsl.Native.NoGcDuringTorch.Run(() => TrainOn(batch ?? random!));   // torch work: no GC inside (see NoGcDuringTorch)
        }
        void TrainOn(Tensor images)
        {
            using var scope = NewDisposeScope();
            using var output = model.forward(images);
            output.Loss.backward();
            optimizer.step();
            optimizer.zero_grad();
        }
        model.train();
        for (int i = 0; i < s.Warmup; i++) TrainStep();
        var train = Time(s.Iterations, TrainStep);

        // ---- the unmasked encoder on full images, batch --batch ----
        model.eval();
        using var evalImages = randn(s.Batch, spec.Channels, spec.ImageSize, spec.ImageSize, generator: new Generator((ulong)s.Seed + 1));
        void EncodeStep() => MaeDsl.Native.NoGcDuringTorch.Run(() =>
        {
            using var mode = inference_mode();
            using var scope = NewDisposeScope();
            model.Encode(evalImages);
        });
        for (int i = 0; i < Math.Max(1, s.Warmup); i++) EncodeStep();
        var encode = Time(s.Iterations, EncodeStep);

        // ---- the matmul rate of this precision, same process and threads ----
        double gemm;
        try { gemm = GemmGflops(s.GemmSize, s.Precision); }
        catch (Exception e) when (e is OutOfMemoryException || e is System.Runtime.InteropServices.ExternalException && e.Message.Contains("alloc",
            StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"--gemm-size {s.GemmSize}: out of memory for the matmul's {s.GemmSize}×{s.GemmSize} matrices: lower --gemm-size", e);
        }

        double images = (double)s.Iterations * s.Batch;
        var result = new BenchResult(s, images / train.Wall, images / encode.Wall, images / train.Cpu, images / encode.Cpu,
            spec.TrainingFlopsPerImage, spec.EncodeFlopsPerImage, gemm, auto);
        log.WriteLine(string.Create(C,
            $"pre-training: {Sig(result.TrainImagesPerSecond)} images/s wall, {Sig(result.TrainImagesPerCpuSecond)} images per CPU-second " +
            $"({Sig(train.Wall / s.Iterations * 1e3)} ms per iteration)"));
        log.WriteLine(string.Create(C,
            $"Encode (unmasked, batch {s.Batch}): {Sig(result.EncodeImagesPerSecond)} images/s wall, {Sig(result.EncodeImagesPerCpuSecond)} images per " +
            $"CPU-second"));
        log.WriteLine(string.Create(C, $"matmul {s.GemmSize}³ {Name(s.Precision)}: {Sig(gemm)} GFLOP/s (best of 3)"));
        log.WriteLine(string.Create(C,
            $"analytic matmul FLOPs per image: training {Sig(spec.TrainingFlopsPerImage / 1e9)} GFLOP (forward {Sig(2.0 * spec.ForwardMacsPerImage / 1e9)} + " +
            $"backward), " +
                                       $"unmasked encode {Sig(spec.EncodeFlopsPerImage / 1e9)} GFLOP; training reaches {Sig(100 * result.Efficiency)} % of " +
                                           $"the matmul rate, " +
                                       $"the encode {Sig(100 * result.EncodeImagesPerSecond * spec.EncodeFlopsPerImage / (gemm * 1e9))} %"));
        return result;
    }

    /// <summary>What <c>--precision auto</c> chooses for pre-training this model at this batch here (measured, or cached), and the
    /// line that reports it with both rates it measured.</summary>
    public static (MaeDsl.AutoPrecisionDecision Decision, string Report) MeasureAuto(MaeSpec spec, int batch)
    {
        var calibration = new MaeDsl.PrecisionCalibration(spec, MaeDsl.PrecisionWorkload.Pretrain, batch);
        var clock = Stopwatch.StartNew();
        var decision = MaeDsl.AutoPrecision.Decide(spec, MaeDsl.PrecisionWorkload.Pretrain, batch, PrecisionOption.CacheForTests.Value);
        var m = decision.Measurement!;
        return (decision, string.Create(C, $"precision auto: {decision}; calibration ({calibration.Shape}; one encoder and one decoder block): " +
                                       $"fp32 {Sig(calibration.Batch / m.Fp32Seconds)} images/s, bf16 {Sig(calibration.Batch / m.Bf16Seconds)} images/s, " +
                                       $"bf16 needs {MaeDsl.AutoPrecision.Margin:0.0#}×; " +
                                       $"{(decision.Source == MaeDsl.PrecisionSource.Cached ? "from the cache" : "measured")} in " +
                                           $"{Sig(clock.Elapsed.TotalSeconds)} s"));
    }

    /// <summary>The pre-training stream, epoch after epoch.</summary>
    static IEnumerable<Tensor> Forever(MaeDsl.Training.Pretraining.IPretrainBatches batches)
    {
        for (int epoch = 0; ; epoch++)
        {
            bool any = false;
            foreach (var t in batches.Batches(epoch)) { any = true; yield return t; }
            if (!any) throw new InvalidDataException("the dataset gives no full batch");
        }
    }

    static (double Wall, double Cpu) Time(int count, Action step)
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < count; i++) step();
        double w = wall.Elapsed.TotalSeconds;
        process.Refresh();
        return (w, Math.Max(1e-9, (process.TotalProcessorTime - cpu).TotalSeconds));
    }

    /// <summary>Refuses (one line naming --gemm-size) a matmul whose three n×n float32 matrices exceed the memory this process may use.</summary>
    public static void CheckGemmFits(int n)
    {
        double bytes = 3.0 * n * n * sizeof(float), available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available)
            throw new ArgumentException(string.Create(C, $"--gemm-size {n}: the matmul's three {n}×{n} float32 matrices need {bytes / (1L << 30):F1} GiB, ") +
                                        string.Create(C, $"more than the {available / (1L << 30):F1} GiB this process may use: lower --gemm-size (the " +
                                            $"default 4096 needs 0.2 GiB)"));
    }

    /// <summary>GFLOP/s (2n³ per product) of an n×n·n×n matmul in this precision: the best of 3 after one warm-up.</summary>
    public static double GemmGflops(int n, Precision precision) => MaeDsl.Native.NoGcDuringTorch.Run(() =>
    {
        using var scope = NewDisposeScope();
        var type = precision == Precision.Bf16 ? bfloat16 : float32;
        var a = randn(n, n, generator: new Generator(1)).to(type);
        var b = randn(n, n, generator: new Generator(2)).to(type);
        a.matmul(b).Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var watch = Stopwatch.StartNew();
            a.matmul(b).Dispose();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    });
}

using System.Globalization;
using MaeDsl.Data;
using MaeDsl.Training;

namespace MaeDsl.Tests.Training;

/// <summary>
/// The loss of the first 50 pre-training iterations of the main job's tiny model and of 50 fine-tuning iterations,
/// on synthetic data through the real loader and augmentations, 1 thread, every option set explicitly, against the
/// committed fixture <c>Fixtures/loss-trajectory.txt</c>, recorded on another CPU: within the measured tolerance of
/// <see cref="RecordedNumbers"/>; and, repeated in this process, bit for bit. A change that alters these numbers on
/// purpose re-records the fixture (<c>MAEDSL_RECORD_FIXTURES=1</c>) in a commit of its own that says why.
/// </summary>
// Alone (no parallel test changes the torch thread count under it).
[Collection(MaeDsl.Tests.FineTune.TrainingRunsCollection.Name)]
public class LossTrajectoryTests
{
    const int Iterations = 50;
    static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "loss-trajectory.txt");

    /// <summary>The main job's MaeFashionTiny: 28×28 grey, patch 4, encoder 4 × 64 (4 heads), decoder 2 × 64 (4 heads).</summary>
    internal static readonly MaeSpec FashionTiny = new(
        ImageSize: 28, PatchSize: 4, Channels: 1,
        EncoderDepth: 4, EncoderWidth: 64, EncoderHeads: 4, EncoderMlpRatio: 4, DropPath: 0,
        DecoderDepth: 2, DecoderWidth: 64, DecoderHeads: 4, DecoderMlpRatio: 4,
        MaskRatio: 0.75, Masking: MaskingStrategy.Random, MaskTokensInEncoder: false, NormalizePixels: false);

    static readonly Normalization Norm = new([0.286f], [0.353f]);

    static string NewDir(string name) => Directory.CreateTempSubdirectory($"maedsl-fixture-{name}-").FullName;

    static IReadOnlyList<float> PretrainLosses(double baseLr = 1.5e-3)
    {
        torch.set_num_threads(1);
        string dir = NewDir("pretrain");
        var options = new PretrainOptions
        {
            Run = new RunOptions
            {
                Epochs = 4, BatchSize = 16, AccumIter = 2, BaseLr = baseLr, Lr = null, MinLr = 1e-6, WarmupEpochs = 1,
                WeightDecay = 0.05, Seed = 7, CheckpointPeriod = 2, OutputDir = dir, TensorBoard = false,
            },
            Beta1 = 0.9, Beta2 = 0.95,
        };
        var data = new SyntheticDataset(256, channels: 1, height: 28, width: 28, numClasses: 4, seed: 11);
        var batches = new LoaderBatches(new BatchLoader(data, options.Run.BatchSize, Transforms.Pretrain(28, Norm, 0.2),
            shuffle: true, dropLast: true, seed: options.Run.Seed, prefetch: 2, workers: 1));
        using var model = new SpecMae(FashionTiny, seed: options.Run.Seed);
        using var trainer = new Pretrainer(model, options);
        trainer.Run(batches, console: TextWriter.Null);
        return TrainingLog.ReadCsv(Path.Combine(dir, TrainingLog.CsvFileName)).Take(Iterations).Select(m => m.Loss).ToList();
    }

    static IReadOnlyList<float> FineTuneLosses()
    {
        torch.set_num_threads(1);
        string dir = NewDir("finetune");
        var options = new FineTuneOptions
        {
            Run = new RunOptions
            {
                Epochs = 4, BatchSize = 16, AccumIter = 1, Lr = null, BaseLr = 1e-3, WeightDecay = 0.05, MinLr = 1e-6,
                WarmupEpochs = 1, Seed = 3, OutputDir = dir, CheckpointPeriod = 2, TensorBoard = false, Resume = null, Workers = 1, ClipGrad = null,
            },
            NumClasses = 4, GlobalPool = true, MinCropScale = 0.08, EvalCropPct = 1.0, EvalPeriod = 2,
            LayerDecay = 0.75, DropPath = 0.1, LabelSmoothing = 0.1, Mixup = 0.8, Cutmix = 1.0,
            MixupProb = 1.0, MixupSwitchProb = 0.5, RandomErasing = 0.25, AutoAugment = "rand-m9-mstd0.5-inc1",
        };
        var train = new SyntheticDataset(208, channels: 1, height: 28, width: 28, numClasses: 4, seed: 12);
        var val = new SyntheticDataset(32, channels: 1, height: 28, width: 28, numClasses: 4, seed: 13);
        using var mae = new SpecMae(FashionTiny, seed: 5);
        using var model = mae.CreateClassifier(options.NumClasses, options.GlobalPool, options.DropPath, seed: 9);
        using var tuner = new FineTuner(model, options);
        tuner.Run(train, val, Norm, console: TextWriter.Null);
        return TrainingLog.ReadCsv(Path.Combine(dir, TrainingLog.CsvFileName)).Take(Iterations).Select(m => m.Loss).ToList();
    }

    static string Bits(float f) => BitConverter.SingleToInt32Bits(f).ToString("x8", CultureInfo.InvariantCulture);

    static float FromBits(string hex) => BitConverter.Int32BitsToSingle(int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));

    static Dictionary<string, float[]> ReadFixture()
    {
        Assert.True(File.Exists(FixturePath), $"missing fixture {FixturePath}: record it with MAEDSL_RECORD_FIXTURES=1");
        return File.ReadAllLines(FixturePath).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Select(p => FromBits(p[2])).ToArray());
    }

    static void Check(string name, IReadOnlyList<float> losses)
    {
        Assert.Equal(Iterations, losses.Count);
        if (Environment.GetEnvironmentVariable("MAEDSL_RECORD_FIXTURES") == "1")
        {
            string source = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Fixtures", "loss-trajectory.txt"));
            var kept = File.Exists(source) ? File.ReadAllLines(source).Where(l => !l.StartsWith(name + " ", StringComparison.Ordinal)) : [];
            var lines = kept.Concat(losses.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"{name} {i} {Bits(l)} {l:R}")));
            File.WriteAllLines(source, lines);
            Skip.If(true, $"recording mode (MAEDSL_RECORD_FIXTURES=1): wrote {name} into {source}, compared nothing");
        }
        var expected = ReadFixture()[name];
        Assert.Equal(Iterations, expected.Length);
        RecordedNumbers.AssertClose(name, [.. expected.Select(e => (double)e)], [.. losses.Select(l => (double)l)]);
        RecordedNumbers.SkipIfMeasuring();
    }

    /// <summary>Same machine, same bits: the computation repeated in this process gives every loss bit for bit.</summary>
    static void AssertBitIdentical(IReadOnlyList<float> first, IReadOnlyList<float> second)
    {
        Assert.Equal(first.Count, second.Count);
        for (int i = 0; i < first.Count; i++)
            Assert.True(Bits(first[i]) == Bits(second[i]), $"iteration {i}: {first[i]:R} then {second[i]:R} on the same machine");
    }

    [SkippableFact]
    public void PretrainingLossesFollowTheFixture() => Check("pretrain", PretrainLosses());

    [SkippableFact]
    public void FineTuningLossesFollowTheFixture() => Check("finetune", FineTuneLosses());

    /// <summary>
    /// The tolerance still catches a change of the arithmetic: the peak lr changed by 1e-5 of itself (84 float ulps) leaves
    /// it by step 20 (measured: from step 8 on, up to 2.9e-6 at step 14). A change of one ulp moves the losses by at most
    /// 2e-7, as much as another CPU's kernels do: no comparison across machines can see it (Fixtures/README.md).
    /// </summary>
    [SkippableFact]
    public void ThePeakLrChangedBy1e5OfItselfLeavesTheTolerance()
    {
        Skip.If(RecordedNumbers.MeasureDirectory is not null, "measuring mode: nothing to measure here");
        var recorded = ReadFixture()["pretrain"].Select(e => (double)e).ToList();
        var changed = PretrainLosses(baseLr: 1.5e-3 * (1 + 1e-5)).Select(l => (double)l).ToList();
        int? at = RecordedNumbers.FirstViolation(recorded, changed);
        Assert.True(at is <= 20, $"a 1e-5 change of the lr stayed within the tolerance until step {(at is null ? "50 (never left it)" : at)}");
    }

    [Fact]
    public void PretrainingRepeatedOnThisMachineIsBitIdentical() => AssertBitIdentical(PretrainLosses(), PretrainLosses());

    [Fact]
    public void FineTuningRepeatedOnThisMachineIsBitIdentical() => AssertBitIdentical(FineTuneLosses(), FineTuneLosses());
}

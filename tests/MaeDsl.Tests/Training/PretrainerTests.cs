using MaeDsl.Checkpoints;
using MaeDsl.Training;

namespace MaeDsl.Tests.Training;

[Collection(NoGcRegionCollection.Name)]
public class PretrainerTests
{
    static string NewDir() => Directory.CreateTempSubdirectory("maedsl-pretrain-").FullName;

    static PretrainOptions Options(string dir, int epochs, int batch = 8, int accum = 1) => new()
    {
        Run = RecipePresets.OfficialPretrainRun with
        {
            Epochs = epochs, BatchSize = batch, AccumIter = accum, Lr = 2e-3, WarmupEpochs = 1, Seed = 3,
            CheckpointPeriod = 1, OutputDir = dir, TensorBoard = false,
        },
    };

    static PretrainOptions Change(PretrainOptions o, Func<RunOptions, RunOptions> change) => o with { Run = change(o.Run) };

    static (PretrainResult Result, List<StepMetrics> Log) Train(PretrainOptions options, string? resume = null, long modelSeed = 5)
    {
        torch.set_num_threads(1);
        using var model = new TinyMae(modelSeed);
        using var trainer = new Pretrainer(model, options);
        var result = trainer.Run(new SyntheticBatches(48, options.Run.BatchSize, options.Run.Seed), resume, TextWriter.Null);
        return (result, TrainingLog.ReadCsv(Path.Combine(options.Run.OutputDir, TrainingLog.CsvFileName)));
    }

    [Fact]
    public void ResumedRunReproducesTheUninterruptedLossesBitForBit()
    {
        // 3 epochs × 6 iterations with accum 4: an epoch ends with 2 accumulated iterations whose gradients
        // are dropped (zero_grad at the epoch start), as in the official loop.
        var full = Train(Options(NewDir(), epochs: 3, accum: 4));
        string resumedDir = NewDir();
        string afterEpoch0 = Path.Combine(Path.GetDirectoryName(full.Result.LastCheckpoint)!, "checkpoint-0000.ckpt");
        Assert.True(File.Exists(afterEpoch0), $"missing {afterEpoch0}");
        var resumed = Train(Options(resumedDir, epochs: 3, accum: 4), resume: afterEpoch0, modelSeed: 99);

        Assert.Equal(18, full.Log.Count);
        Assert.Equal(Enumerable.Range(6, 12).Select(i => (long)i), resumed.Log.Select(m => m.Step));
        foreach (var m in resumed.Log)
        {
            var reference = full.Log[(int)m.Step];
            Assert.True(BitConverter.SingleToInt32Bits(reference.Loss) == BitConverter.SingleToInt32Bits(m.Loss),
                $"step {m.Step}: uninterrupted loss {reference.Loss:R}, resumed loss {m.Loss:R}");
            Assert.Equal(reference.Lr, m.Lr);
        }
        // and the final weights are identical
        using var a = new TinyMae(0);
        using var b = new TinyMae(1);
        CheckpointStore.LoadModel(full.Result.LastCheckpoint, a);
        CheckpointStore.LoadModel(resumed.Result.LastCheckpoint, b);
        foreach (var ((name, pa), (_, pb)) in a.state_dict().Zip(b.state_dict()))
            Assert.True(pa.eq(pb).all().item<bool>(), $"{name} differs after resume");
    }

    [Fact]
    public void LossDecreasesOver50Steps()
    {
        var options = Change(Options(NewDir(), epochs: 10), r => r with { BatchSize = 8, Lr = 3e-3, WarmupEpochs = 0.5 });
        var run = Train(options); // 48 images / 8 = 6 iterations × 10 epochs = 60 iterations
        Assert.True(run.Log.Count >= 50);
        double first = run.Log.Take(5).Average(m => m.Loss);
        double last = run.Log.Skip(run.Log.Count - 5).Average(m => m.Loss);
        Assert.True(last < 0.6 * first, $"loss went from {first:F4} (first 5 steps) to {last:F4} (last 5): expected a drop of more than 40%");
    }

    [Fact]
    public void LrFollowsTheScheduleEveryAccumIterations()
    {
        var options = Options(NewDir(), epochs: 2, accum: 2);
        var run = Train(options);
        var schedule = options.Run.Schedule();
        foreach (var m in run.Log)
        {
            int step = (int)(m.Step % 6);
            int setAt = step - step % 2; // lr_sched.adjust_learning_rate runs when data_iter_step % accum_iter == 0
            Assert.Equal(schedule.At(LrSchedule.FractionalEpoch(m.Epoch, setAt, 6)), m.Lr, 15);
        }
        Assert.Equal(0.0, run.Log[0].Lr);                // warmup starts at 0
        Assert.Equal(2e-3 * 2 / 6, run.Log[2].Lr, 15);   // epoch 2/6 of a 1-epoch warmup
    }

    [Fact]
    public void CheckpointsAreKeptPeriodicallyWithOfficialSafetensorsNames()
    {
        var options = Change(Options(NewDir(), epochs: 3), r => r with { CheckpointPeriod = 2 });
        var run = Train(options);
        var dir = options.Run.CheckpointDir;
        var files = Directory.GetFiles(dir).Select(f => Path.GetFileName(f)!).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "checkpoint-0001.ckpt", "checkpoint-0001.safetensors", "checkpoint-0002.ckpt", "checkpoint-0002.safetensors", "checkpoint-last.ckpt" }, files);
        Assert.Equal(Path.Combine(dir, "checkpoint-0002.ckpt"), run.Result.LastCheckpoint);
        var info = CheckpointStore.ReadInfo(run.Result.LastCheckpoint);
        Assert.Equal(2, info.Epoch);
        Assert.Equal(18, info.GlobalStep);
        Assert.Equal("TinyMae", info.ModelName);
        Assert.Equal(3L, RunConfig.Parse(info.Config, run.Result.LastCheckpoint).Run.Seed);
        Assert.Equal(3L, info.Config["run"]!["seed"]!.GetValue<long>());

        using var model = new TinyMae(0);
        var weights = StateDicts.Read(Path.Combine(dir, "checkpoint-0002.safetensors"));
        Assert.Equal(model.state_dict().Keys.OrderBy(k => k), weights.Keys.OrderBy(k => k));
        Assert.Contains("cls_token", weights.Keys);
        Assert.Contains("blocks.1.attn.qkv.weight", weights.Keys);
        Assert.Contains("decoder_pred.bias", weights.Keys);
        using var trained = new TinyMae(0);
        CheckpointStore.LoadModel(run.Result.LastCheckpoint, trained);
        Assert.True(trained.state_dict()["decoder_pred.weight"].eq(weights["decoder_pred.weight"]).all().item<bool>());
    }

    [Fact]
    public void NonFiniteLossStopsWithStepLrAndLastCheckpoint()
    {
        var options = Options(NewDir(), epochs: 3);
        torch.set_num_threads(1);
        using var model = new TinyMae(5);
        using var trainer = new Pretrainer(model, options);
        var e = Assert.Throws<NonFiniteLossException>(() =>
            trainer.Run(new SyntheticBatches(48, 8, options.Run.Seed, poison: (1, 2)), null, TextWriter.Null));
        Assert.Equal(8, e.GlobalStep);
        Assert.Equal(1, e.Epoch);
        string last = Path.Combine(options.Run.CheckpointDir, "checkpoint-0000.ckpt");
        Assert.Equal(last, e.LastGoodCheckpoint);
        Assert.Contains("step 8", e.Message);
        Assert.Contains(FormattableString.Invariant($"lr {options.Run.Schedule().At(1 + 2 / 6.0):E4}"), e.Message);
        Assert.Contains(last, e.Message);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void ResumeWithAnotherBatchSizeIsRefused()
    {
        var first = Train(Options(NewDir(), epochs: 2));
        var e = Assert.Throws<InvalidDataException>(() => Train(Options(NewDir(), epochs: 2, batch: 4), resume: first.Result.LastCheckpoint.Replace("0001", "0000")));
        Assert.Contains("checkpoint-0000.ckpt", e.Message);
    }

    [Fact]
    public void ATornCheckpointIsReportedByName()
    {
        var run = Train(Change(Options(NewDir(), epochs: 1), r => r with { WarmupEpochs = 0.5 }));
        string torn = Path.Combine(NewDir(), "torn.ckpt");
        var bytes = File.ReadAllBytes(run.Result.LastCheckpoint);
        using var model = new TinyMae(0);
        using var optimizer = WeightDecay.CreateOptimizer(model, 1e-3, 0.05);
        // cut inside the optimizer state (the model state is the first third) and inside the model state
        File.WriteAllBytes(torn, bytes[..(bytes.Length * 2 / 3)]);
        var e = Assert.Throws<InvalidDataException>(() => CheckpointStore.Load(torn, model, optimizer));
        Assert.Contains("torn.ckpt", e.Message);
        File.WriteAllBytes(torn, bytes[..(bytes.Length / 10)]);
        e = Assert.Throws<InvalidDataException>(() => CheckpointStore.LoadModel(torn, model));
        Assert.Contains("torn.ckpt", e.Message);
        var missing = Assert.Throws<FileNotFoundException>(() => CheckpointStore.ReadInfo(torn + ".nope"));
        Assert.Contains("torn.ckpt.nope", missing.Message);
    }
}

[Collection(NoGcRegionCollection.Name)]
public class PretrainerWithDataPipelineTests
{
    [Fact]
    public void ResumeIsBitExactThroughTheAugmentingBatchLoader()
    {
        // The real pipeline: SyntheticDataset → RandomResizedCrop + flip + normalise on a prefetching loader.
        torch.set_num_threads(1);
        var dataset = new MaeDsl.Data.SyntheticDataset(40, channels: 1, height: 8, width: 8, seed: 2);
        var transform = MaeDsl.Data.Transforms.Pretrain(8, new MaeDsl.Data.Normalization([0.5f], [0.25f]));
        LoaderBatches Data() => new(new MaeDsl.Data.BatchLoader(dataset, 8, transform, shuffle: true, dropLast: true, seed: 9, workers: 2));
        PretrainOptions Options(string dir) => new()
        {
            Run = RecipePresets.OfficialPretrainRun with { Epochs = 3, BatchSize = 8, Lr = 1e-3, WarmupEpochs = 1, Seed = 9, CheckpointPeriod = 1, OutputDir = dir, TensorBoard = false },
        };
        string fullDir = Directory.CreateTempSubdirectory("maedsl-pipe-").FullName;
        string resumedDir = Directory.CreateTempSubdirectory("maedsl-pipe-").FullName;
        using (var model = new TinyMae(1))
        using (var trainer = new Pretrainer(model, Options(fullDir)))
            trainer.Run(Data(), console: TextWriter.Null);
        using (var model = new TinyMae(2))
        using (var trainer = new Pretrainer(model, Options(resumedDir)))
            trainer.Run(Data(), Path.Combine(fullDir, "checkpoints", "checkpoint-0001.ckpt"), TextWriter.Null);
        var full = TrainingLog.ReadCsv(Path.Combine(fullDir, TrainingLog.CsvFileName));
        var resumed = TrainingLog.ReadCsv(Path.Combine(resumedDir, TrainingLog.CsvFileName));
        Assert.Equal(15, full.Count);
        Assert.Equal(5, resumed.Count);
        foreach (var m in resumed)
            Assert.True(BitConverter.SingleToInt32Bits(full[(int)m.Step].Loss) == BitConverter.SingleToInt32Bits(m.Loss),
                $"step {m.Step}: uninterrupted {full[(int)m.Step].Loss:R}, resumed {m.Loss:R}");
    }
}

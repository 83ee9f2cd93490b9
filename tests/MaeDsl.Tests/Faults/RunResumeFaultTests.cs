// Faults of a run (issue 10): a stop inside an epoch, a resume with other settings, a non-finite loss. Each test tries the
// fault against the one training loop and checks what is on disk afterwards.
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Tests.FineTune;
using MaeDsl.Tests.Training;
using MaeDsl.Training.Pretraining;
using static TorchSharp.torch;

namespace MaeDsl.Tests.Faults;

[Collection(TrainingRunsCollection.Name)]
public class RunResumeFaultTests
{
    static string NewDir() => Directory.CreateTempSubdirectory("maedsl-fault-run-").FullName;

    static PretrainOptions Options(string dir, int epochs = 3, int accum = 2, double blr = 1e-3, double warmup = 1, int everySteps = 0) => new()
    {
        Run = RecipePresets.OfficialPretrainRun with
        {
            Epochs = epochs, BatchSize = 8, AccumIter = accum, BaseLr = blr, WarmupEpochs = warmup, Seed = 3,
            CheckpointPeriod = 1, OutputDir = dir, TensorBoard = false, CheckpointEverySteps = everySteps,
        },
    };

    /// <summary>Cancels <paramref name="cancel"/> when the batch of (epoch, step) is drawn: the loop is inside that step when the signal arrives.</summary>
    internal sealed class CancelAt(IPretrainBatches inner, int epoch, int step, CancellationTokenSource cancel) : IPretrainBatches
    {
        public int StepsPerEpoch => inner.StepsPerEpoch;
        public IEnumerable<Tensor> Batches(int e)
        {
            int s = 0;
            foreach (var b in inner.Batches(e))
            {
                if (e == epoch && s++ == step) cancel.Cancel();
                yield return b;
            }
        }
    }

    static PretrainResult Train(PretrainOptions options, IPretrainBatches data, string? resume = null, long modelSeed = 5, CancellationToken cancel = default)
    {
        torch.set_num_threads(1);
        using var model = new TinyMae(modelSeed);
        using var trainer = new Pretrainer(model, options);
        return trainer.Run(data, resume, TextWriter.Null, cancel);
    }

    static List<StepMetrics> Metrics(string dir) => TrainingLog.ReadCsv(Path.Combine(dir, TrainingLog.CsvFileName));

    internal static void AssertSameWeights(string a, string b)
    {
        using var x = new TinyMae(0);
        using var y = new TinyMae(1);
        CheckpointStore.LoadModel(a, x);
        CheckpointStore.LoadModel(b, y);
        foreach (var ((name, pa), (_, pb)) in x.state_dict().Zip(y.state_dict()))
            Assert.True(pa.eq(pb).all().item<bool>(), $"{name} differs");
    }

    internal static void AssertSameLossBits(IReadOnlyList<StepMetrics> expected, IReadOnlyList<StepMetrics> actual)
    {
        Assert.Equal(expected.Select(m => m.Step), actual.Select(m => m.Step));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.True(BitConverter.SingleToInt32Bits(e.Loss) == BitConverter.SingleToInt32Bits(a.Loss), $"step {e.Step}: {e.Loss:R} vs {a.Loss:R}");
            Assert.Equal(e.Lr, a.Lr);
        }
    }

    [Fact]
    public void Cancel_mid_epoch_writes_a_mid_epoch_checkpoint_and_the_resume_is_bit_identical()
    {
        var reference = Options(NewDir());
        var full = Train(reference, new SyntheticBatches(48, 8, 3));

        var stopped = Options(NewDir());
        using var cancel = new CancellationTokenSource();
        // cancelled during iteration 2 of epoch 1 (accum 2): the loop finishes it and the next, then stops at the optimizer step
        var e = Assert.Throws<RunStoppedException>(() => Train(stopped, new CancelAt(new SyntheticBatches(48, 8, 3), 1, 2, cancel), cancel: cancel.Token));
        Assert.Equal(Path.Combine(stopped.Run.CheckpointDir, CheckpointStore.LastFileName), e.Checkpoint);
        var info = CheckpointStore.ReadInfo(e.Checkpoint);
        Assert.Equal((0, 4, 10L), (info.Epoch, info.StepInEpoch, info.GlobalStep));   // inside epoch 1, after 4 of its 6 iterations
        Assert.Equal(10, Metrics(stopped.Run.OutputDir).Count);                           // the log was flushed with the checkpoint

        var resumed = Train(stopped, new SyntheticBatches(48, 8, 3), resume: e.Checkpoint, modelSeed: 99);
        AssertSameLossBits(Metrics(reference.Run.OutputDir), Metrics(stopped.Run.OutputDir));
        AssertSameWeights(full.LastCheckpoint, resumed.LastCheckpoint);
        Assert.Equal(full.MeanLossLastEpoch, resumed.MeanLossLastEpoch);
        var history = File.ReadAllLines(Path.Combine(stopped.Run.OutputDir, RunHistory.FileName)).Select(l => JsonNode.Parse(l)!["event"]!.GetValue<string>());
        Assert.Equal(["start", "stopped", "resume"], history);
    }

    [Fact]
    public void Checkpoint_every_steps_writes_mid_epoch_checkpoints_that_resume_bit_identically()
    {
        var reference = Options(NewDir());
        var full = Train(reference, new SyntheticBatches(48, 8, 3));

        var periodic = Options(NewDir(), everySteps: 4);
        var copy = Path.Combine(periodic.Run.OutputDir, "mid.ckpt");
        var data = new CopyAtStep(new SyntheticBatches(48, 8, 3), periodic.Run.CheckpointDir, copy, epoch: 1, step: 3);
        Train(periodic, data);
        string midEpoch = copy;
        var info = CheckpointStore.ReadInfo(midEpoch);
        Assert.Equal((0, 2, 8L), (info.Epoch, info.StepInEpoch, info.GlobalStep));   // written after iteration 8 (4 × 2)
        string again = NewDir();
        var resumed = Train(periodic with { Run = periodic.Run with { OutputDir = again } }, new SyntheticBatches(48, 8, 3), resume: midEpoch, modelSeed: 7);
        AssertSameWeights(full.LastCheckpoint, resumed.LastCheckpoint);
        AssertSameLossBits(Metrics(reference.Run.OutputDir).Skip(8).ToList(), Metrics(again));
    }

    /// <summary>Copies checkpoint-last when the batch of (epoch, step) is drawn (the mid-epoch checkpoint written just before).</summary>
    sealed class CopyAtStep(IPretrainBatches inner, string checkpointDir, string copy, int epoch, int step) : IPretrainBatches
    {
        public int StepsPerEpoch => inner.StepsPerEpoch;
        public IEnumerable<Tensor> Batches(int e)
        {
            int s = 0;
            foreach (var b in inner.Batches(e))
            {
                if (e == epoch && s++ == step) File.Copy(Path.Combine(checkpointDir, CheckpointStore.LastFileName), copy);
                yield return b;
            }
        }
    }

    [Fact]
    public void Resume_with_other_trajectory_options_is_refused_listing_each_difference_and_config_json_is_kept()
    {
        var first = Options(NewDir(), epochs: 2);
        var done = Train(first, new SyntheticBatches(48, 8, 3));
        string checkpoint = Path.Combine(first.Run.CheckpointDir, "checkpoint-0000.ckpt");
        string configPath = Path.Combine(first.Run.OutputDir, RunConfig.FileName);
        byte[] config = File.ReadAllBytes(configPath), last = File.ReadAllBytes(done.LastCheckpoint);

        var changed = Options(first.Run.OutputDir, epochs: 2, blr: 3e-3, warmup: 0.5);
        var e = Assert.Throws<InvalidDataException>(() => Train(changed, new SyntheticBatches(48, 8, 3), resume: checkpoint));
        Assert.Contains("--blr: checkpoint 0.001, this run 0.003", e.Message);
        Assert.Contains("--warmup-epochs: checkpoint 1, this run 0.5", e.Message);
        Assert.Contains("--allow-change blr,warmup-epochs", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(config, File.ReadAllBytes(configPath));       // config.json not overwritten with the refused values
        Assert.Equal(last, File.ReadAllBytes(done.LastCheckpoint));

        var batch = first with { Run = first.Run with { BatchSize = 16 } };
        var b = Assert.Throws<InvalidDataException>(() => Train(batch, new SyntheticBatches(48, 16, 3), resume: checkpoint));
        Assert.Contains("--batch: checkpoint 8, this run 16", b.Message);
    }

    [Fact]
    public void Resume_with_allow_change_is_accepted_and_recorded_in_the_history()
    {
        var first = Options(NewDir(), epochs: 2);
        Train(first, new SyntheticBatches(48, 8, 3));
        string checkpoint = Path.Combine(first.Run.CheckpointDir, "checkpoint-0000.ckpt");
        var changed = Options(first.Run.OutputDir, epochs: 2, blr: 3e-3) with { };
        changed = changed with { Run = changed.Run with { AllowChange = "blr" } };
        Train(changed, new SyntheticBatches(48, 8, 3), resume: checkpoint);
        var resume = File.ReadAllLines(Path.Combine(first.Run.OutputDir, RunHistory.FileName)).Select(l => JsonNode.Parse(l)!).Last();
        Assert.Equal("resume", resume["event"]!.GetValue<string>());
        var change = resume["changes"]!.AsArray().Single()!;
        Assert.Equal(("--blr", "0.001", "0.003"), (change["option"]!.GetValue<string>(), change["checkpoint"]!.GetValue<string>(), change["this_run"]!.GetValue<string>()));
        Assert.Throws<InvalidOptionException>(() => (changed with { Run = changed.Run with { AllowChange = "threads" } }).Validate());
    }

    [Fact]
    public void Raising_epochs_trains_further_and_is_recorded_lowering_is_refused()
    {
        var first = Options(NewDir(), epochs: 2);
        var done = Train(first, new SyntheticBatches(48, 8, 3));
        var further = Options(first.Run.OutputDir, epochs: 3);
        var r = Train(further, new SyntheticBatches(48, 8, 3), resume: done.LastCheckpoint);
        Assert.Equal(18, r.Steps);
        var resume = JsonNode.Parse(File.ReadAllLines(Path.Combine(first.Run.OutputDir, RunHistory.FileName)).Last())!;
        Assert.Equal("--epochs", resume["changes"]![0]!["option"]!.GetValue<string>());

        var lower = Options(first.Run.OutputDir, epochs: 2);
        var e = Assert.Throws<InvalidDataException>(() => Train(lower, new SyntheticBatches(48, 8, 3), resume: r.LastCheckpoint));
        Assert.Contains("--epochs: checkpoint 3, this run 2", e.Message);
    }

    [Fact]
    public void Resume_on_another_dataset_size_is_refused_naming_the_image_count()
    {
        var dataset = new SyntheticDataset(48, channels: 1, height: 8, width: 8, numClasses: 3, seed: 2);
        var smaller = new SyntheticDataset(40, channels: 1, height: 8, width: 8, numClasses: 3, seed: 2);
        var first = Options(NewDir(), epochs: 2, accum: 1);
        IPretrainBatches Data(IImageDataset d) => new LoaderBatches(new BatchLoader(d, 8, shuffle: true, dropLast: true, seed: 3, workers: 1));
        var done = Train(first, Data(dataset));
        var config = RunConfig.Read(Path.Combine(first.Run.OutputDir, RunConfig.FileName));
        Assert.Equal(48, config.Inputs["train_images"]!.GetValue<int>());
        Assert.Equal(3, config.Inputs["class_names"]!.AsArray().Count);
        var e = Assert.Throws<InvalidDataException>(() => Train(first, Data(smaller), resume: Path.Combine(first.Run.CheckpointDir, "checkpoint-0000.ckpt")));
        Assert.Contains("--train-limit: checkpoint 48, this run 40", e.Message);
    }

    [Fact]
    public void Another_batch_size_allowed_on_a_mid_epoch_checkpoint_names_both_epoch_lengths()
    {
        using var cancel = new CancellationTokenSource();
        var first = Options(NewDir(), accum: 1);
        var e = Assert.Throws<RunStoppedException>(() => Train(first, new CancelAt(new SyntheticBatches(48, 8, 3), 1, 2, cancel), cancel: cancel.Token));
        var batch16 = first with { Run = first.Run with { BatchSize = 16, AllowChange = "batch" } };
        var refused = Assert.Throws<InvalidDataException>(() => Train(batch16, new SyntheticBatches(48, 16, 3), resume: e.Checkpoint));
        Assert.Contains("the checkpoint's epochs have 6 iterations (--batch 8", refused.Message);
        Assert.Contains("this run's have 3 (--batch 16", refused.Message);
        Assert.Contains("inside an epoch", refused.Message);
    }

    [Fact]
    public void A_linear_probe_cancelled_mid_epoch_resumes_bit_identically()
    {
        var data = new SyntheticDataset(64, channels: 1, height: 16, width: 16, numClasses: 4, seed: 1);
        LinearProbeOptions Probe(string dir) => new()
        {
            NumClasses = 4, EvalCropPct = 1.0,
            Run = RecipePresets.OfficialLinearProbeRun with { Epochs = 2, BatchSize = 16, Lr = 2.0, WarmupEpochs = 1, OutputDir = dir, TensorBoard = false, Workers = 1 },
        };
        (Dictionary<string, Tensor> Weights, string Dir) RunProbe(string dir, string? resume, int stopAt = -1)
        {
            torch.set_num_threads(1);
            using var mae = new SpecMae(FineTunerTests.Tiny, seed: 0);
            var options = Probe(dir) with { Run = Probe(dir).Run with { Resume = resume } };
            using var model = LinearProbe.CreateModel(mae, options);
            using var probe = new LinearProbe(model, options);
            using var cancel = new CancellationTokenSource();
            probe.Loop.StepCompleted += m => { if (m.Step == stopAt) cancel.Cancel(); };
            probe.Run(data, data, FineTunerTests.Norm, TextWriter.Null, cancel.Token);
            return (model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()), dir);
        }
        var full = RunProbe(NewDir(), null);
        string dir = NewDir();
        var stop = Assert.Throws<RunStoppedException>(() => RunProbe(dir, null, stopAt: 5));   // iteration 5: epoch 1, 2 of its 4 done
        Assert.Equal((0, 2), (CheckpointStore.ReadInfo(stop.Checkpoint).Epoch, CheckpointStore.ReadInfo(stop.Checkpoint).StepInEpoch));
        var resumed = RunProbe(dir, stop.Checkpoint);
        AssertSameLossBits(Metrics(full.Dir), Metrics(dir));
        foreach (var (name, w) in full.Weights)
            Assert.True(w.eq(resumed.Weights[name]).all().item<bool>(), $"{name} differs");
        Assert.Equal(File.ReadAllLines(Path.Combine(full.Dir, EvalLog.CsvFileName)).Select(l => string.Join(',', l.Split(',').SkipLast(1))),
                     File.ReadAllLines(Path.Combine(dir, EvalLog.CsvFileName)).Select(l => string.Join(',', l.Split(',').SkipLast(1))));
    }

    [Fact]
    public void Every_option_property_is_classified()
    {
        var unclassified = new List<string>();
        foreach (var type in new[] { typeof(RunOptions), typeof(PretrainOptions), typeof(FineTuneOptions), typeof(LinearProbeOptions), typeof(ClassifierOptions) })
            foreach (var p in OptionClasses.RecordedProperties(type))
                if (OptionClasses.Find(type, p.Name) is null) unclassified.Add($"{type.Name}.{p.Name}");
        Assert.Empty(unclassified);
    }

    [Fact]
    public void Skip_nonfinite_skips_the_poisoned_step_and_counts_it()
    {
        var o = Options(NewDir(), epochs: 2, accum: 1);
        var skip = o with { Run = o.Run with { SkipNonFinite = true } };
        var r = Train(skip, new SyntheticBatches(48, 8, 3, poison: (1, 2)));
        Assert.Equal(12, r.Steps);
        var info = CheckpointStore.ReadInfo(r.LastCheckpoint);
        Assert.Equal(1, info.SkippedSteps);
        Assert.True(float.IsNaN(Metrics(o.Run.OutputDir)[8].Loss));
        Assert.True(RunConfig.Read(Path.Combine(o.Run.OutputDir, RunConfig.FileName)).Run.SkipNonFinite);
        // without the option the stop stays
        Assert.Throws<NonFiniteLossException>(() => Train(Options(NewDir(), epochs: 2, accum: 1), new SyntheticBatches(48, 8, 3, poison: (1, 2))));
    }
}

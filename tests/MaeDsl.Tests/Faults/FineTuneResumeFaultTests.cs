// A fine-tuning run stopped inside an epoch (issue 10) and resumed: with every random stream of the recipe on (Mixup/CutMix,
// drop path, random erasing, layer decay), the resume must give the uninterrupted run's losses, evaluations and weights bit for bit.
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Tests.FineTune;
using MaeDsl.Training.FineTuning;
using static TorchSharp.torch;

namespace MaeDsl.Tests.Faults;

[Collection(TrainingRunsCollection.Name)]
public class FineTuneResumeFaultTests
{
    static string NewDir() => Directory.CreateTempSubdirectory("maedsl-fault-finetune-").FullName;

    static FineTuneOptions Options(string dir, string? resume) => new()
    {
        NumClasses = 4, EvalCropPct = 1.0,
        // every random stream on: drop path, Mixup/CutMix with switching, random erasing, label smoothing, layer decay
        DropPath = 0.2, Mixup = 0.8, Cutmix = 1.0, MixupProb = 1.0, MixupSwitchProb = 0.5, RandomErasing = 0.5, LabelSmoothing = 0.1, LayerDecay = 0.75,
        Run = RecipePresets.OfficialFineTuneRun with
        {
            Epochs = 2, BatchSize = 16, Lr = 2e-3, WarmupEpochs = 1, MinLr = 1e-5, Seed = 3,
            OutputDir = dir, TensorBoard = false, Workers = 1, Resume = resume,
        },
    };

    static Dictionary<string, Tensor> FineTune(string dir, string? resume, long maeSeed, int stopAt = -1)
    {
        torch.set_num_threads(1);
        var data = new SyntheticDataset(64, channels: 1, height: 16, width: 16, numClasses: 4, seed: 1);
        var options = Options(dir, resume);
        using var mae = new SpecMae(FineTunerTests.Tiny, seed: maeSeed);
        using var model = mae.CreateClassifier(options.NumClasses, options.GlobalPool, options.DropPath, seed: 7);   // a seeded head
        using var tuner = new FineTuner(model, options);
        Assert.True(tuner.Mixup is not null && tuner.Erasing is not null && model.modules().OfType<MaeDsl.DropPath>().Any(d => d.P > 0), "a random stream of the recipe is off");
        using var cancel = new CancellationTokenSource();
        tuner.Loop.StepCompleted += m => { if (m.Step == stopAt) cancel.Cancel(); };
        tuner.Run(data, data, FineTunerTests.Norm, TextWriter.Null, cancel.Token);
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_fine_tuning_cancelled_mid_epoch_with_mixup_cutmix_drop_path_and_erasing_resumes_bit_identically()
    {
        string fullDir = NewDir(), dir = NewDir();
        var full = FineTune(fullDir, null, maeSeed: 0);
        var stop = Assert.Throws<RunStoppedException>(() => FineTune(dir, null, maeSeed: 0, stopAt: 5));   // iteration 5: epoch 1, 2 of its 4 done
        var info = CheckpointStore.ReadInfo(stop.Checkpoint);
        Assert.True(info.MidEpoch && (info.Epoch, info.StepInEpoch) == (0, 2), $"epoch {info.Epoch}, step {info.StepInEpoch}");
        var resumed = FineTune(dir, stop.Checkpoint, maeSeed: 42);   // other starting weights: all must come from the checkpoint

        RunResumeFaultTests.AssertSameLossBits(TrainingLog.ReadCsv(Path.Combine(fullDir, TrainingLog.CsvFileName)),
                                               TrainingLog.ReadCsv(Path.Combine(dir, TrainingLog.CsvFileName)));
        foreach (var (name, w) in full)
            Assert.True(w.eq(resumed[name]).all().item<bool>(), $"{name} differs");
        static IEnumerable<string> WithoutSeconds(string dir) =>
            File.ReadAllLines(Path.Combine(dir, EvalLog.CsvFileName)).Select(l => string.Join(',', l.Split(',').SkipLast(1)));
        Assert.Equal(WithoutSeconds(fullDir), WithoutSeconds(dir));
    }
}

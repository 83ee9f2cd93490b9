using MaeDsl.Checkpoints;
using System.Text.Json.Nodes;
using MaeDsl.Data;
using MaeDsl.Tests.FineTune;

namespace MaeDsl.Tests.Training;

/// <summary>What the one loop does for every recipe: cancellation, clipping, config.json, the resume checks.</summary>
[Collection(TrainingRunsCollection.Name)]
public class TrainingLoopTests
{
    static string NewDir() => Directory.CreateTempSubdirectory("maedsl-loop-").FullName;

    static PretrainOptions Pretrain(string dir, int epochs = 2, double? clip = null) => new()
    {
        Run = RecipePresets.OfficialPretrainRun with { Epochs = epochs, BatchSize = 8, Lr = 2e-3, WarmupEpochs = 1, Seed = 3, CheckpointPeriod = 1, OutputDir = dir, TensorBoard = false, ClipGrad = clip },
    };

    [Fact]
    public void CancellingBetweenStepsKeepsTheLastCheckpointAsTheResumePoint()
    {
        torch.set_num_threads(1);
        var options = Pretrain(NewDir(), epochs: 3);
        using var cancel = new CancellationTokenSource();
        using var model = new TinyMae(5);
        using var trainer = new Pretrainer(model, options);
        trainer.CheckpointWritten += e => { if (e.Epoch == 0) cancel.Cancel(); };
        Assert.ThrowsAny<OperationCanceledException>(() => trainer.Run(new SyntheticBatches(48, 8, 3), null, TextWriter.Null, cancel.Token));
        Assert.Equal(6, TrainingLog.ReadCsv(Path.Combine(options.Run.OutputDir, TrainingLog.CsvFileName)).Count);   // stopped before epoch 1's first step
        var info = CheckpointStore.ReadInfo(Path.Combine(options.Run.CheckpointDir, CheckpointStore.LastFileName));
        Assert.Equal((0, 6L), (info.Epoch, info.GlobalStep));
    }

    [Fact]
    public void AClassifierRunIsCancelledBetweenStepsToo()
    {
        var data = new SyntheticDataset(32, channels: 1, height: 16, width: 16, numClasses: 4, seed: 2);
        using var mae = new SpecMae(FineTunerTests.Tiny, seed: 0);
        var options = new LinearProbeOptions
        {
            NumClasses = 4, EvalCropPct = 1.0,
            Run = RecipePresets.OfficialLinearProbeRun with { Epochs = 2, BatchSize = 16, Lr = 1.0, WarmupEpochs = 0, OutputDir = NewDir(), TensorBoard = false, Workers = 1 },
        };
        using var model = LinearProbe.CreateModel(mae, options);
        using var probe = new LinearProbe(model, options);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => probe.Run(data, data, FineTunerTests.Norm, TextWriter.Null, cancel.Token));
    }

    [Fact]
    public void GradientClippingIsTheLoopsForEveryRecipe()
    {
        torch.set_num_threads(1);
        float LastLoss(double? clip)
        {
            var options = Pretrain(NewDir(), clip: clip);
            using var model = new TinyMae(5);
            using var trainer = new Pretrainer(model, options);
            return trainer.Run(new SyntheticBatches(48, 8, 3), null, TextWriter.Null).LastLoss;
        }
        Assert.Equal(LastLoss(null), LastLoss(1e9));          // a bound never reached changes nothing
        Assert.NotEqual(LastLoss(null), LastLoss(1e-4));      // a tight one does
    }

    [Fact]
    public void ConfigJsonKeepsInputsAndDerivedValuesApartInSnakeCase()
    {
        var data = new SyntheticDataset(32, channels: 1, height: 16, width: 16, numClasses: 4, seed: 2);
        using var mae = new SpecMae(FineTunerTests.Tiny, seed: 0);
        var options = RecipePresets.OfficialFineTune with
        {
            NumClasses = 4, EvalCropPct = 1.0, Mixup = 0, Cutmix = 0,
            Run = RecipePresets.OfficialFineTuneRun with { Epochs = 1, BatchSize = 16, AccumIter = 2, WarmupEpochs = 0, OutputDir = NewDir(), TensorBoard = false, Workers = 1 },
        };
        using var model = FineTuner.FromPretrained(mae, options);
        using (var tuner = new FineTuner(model, options)) tuner.Run(data, data, FineTunerTests.Norm, TextWriter.Null);
        string path = Path.Combine(options.Run.OutputDir, RunConfig.FileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(new[] { "version", "recipe", "model", "run", "options", "derived", "spec", "inputs" }, json.Select(kv => kv.Key));
        Assert.Null(json["run"]!["lr"]);                                          // the input: not given
        Assert.Equal(1e-3 * 32 / 256, json["derived"]!["absolute_lr"]!.GetValue<double>());   // the computed lr, under its own name
        Assert.Equal(32, json["derived"]!["effective_batch"]!.GetValue<int>());
        Assert.Equal(2, json["derived"]!["steps_per_epoch"]!.GetValue<int>());
        Assert.Equal(32, json["derived"]!["train_images"]!.GetValue<int>());
        Assert.Equal(0.75, json["options"]!["layer_decay"]!.GetValue<double>());
        Assert.False(json["options"]!.AsObject().ContainsKey("mixup_active"));
        Assert.Equal(16, json["spec"]!["image_size"]!.GetValue<int>());
        Assert.False(json["spec"]!.AsObject().ContainsKey("grid_size"));
        var config = RunConfig.Read(path);
        Assert.Equal(options, config.OptionsAs<FineTuneOptions>());
        Assert.Equal(FineTunerTests.Tiny, config.Spec);
    }

    [Fact]
    public void AFineTuningCheckpointCannotResumePretraining()
    {
        var options = Pretrain(NewDir());
        using var model = new TinyMae(5);
        using var trainer = new Pretrainer(model, options);
        var e = Assert.Throws<InvalidDataException>(() => trainer.Run(new SyntheticBatches(48, 8, 3),
            Path.Combine(AppContext.BaseDirectory, "Fixtures", "legacy", "finetune-epoch0.ckpt"), TextWriter.Null));
        Assert.Contains("VitClassifier/finetune", e.Message);
    }
}

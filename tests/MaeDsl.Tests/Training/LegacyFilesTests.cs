using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Tests.FineTune;

namespace MaeDsl.Tests.Training;

/// <summary>
/// Files written before the single training loop still work: the committed docs/results*/**/config.json (both
/// casings) read, and the .ckpt files of Fixtures/legacy (written by the old Pretrainer, FineTuner and LinearProbe)
/// load and resume into epochs whose losses follow the old uninterrupted run's (recorded on another CPU: within the
/// tolerance of <see cref="RecordedNumbers"/>).
/// </summary>
[Collection(TrainingRunsCollection.Name)]
public class LegacyFilesTests
{
    static string Legacy(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "legacy", name);

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "docs", "results")) && Directory.Exists(Path.Combine(dir.FullName, "src", "MaeDsl")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"no repository root with docs/results above {AppContext.BaseDirectory}");
    }

    static string NewDir(string name) => Directory.CreateTempSubdirectory($"maedsl-legacy-{name}-").FullName;

    // the runs committed before the single training loop (docs/ablations/ holds runs of today's layout)
    static List<string> ResultConfigPaths() =>
        new[] { "results", "results-6000-labels" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(RepositoryRoot(), "docs", d), "config.json", SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(RepositoryRoot(), f)).Order(StringComparer.Ordinal).ToList();

    public static TheoryData<string> ResultConfigs() => new(ResultConfigPaths());

    [Fact]
    public void TheCommittedResultsHoldConfigsOfBothOldLayouts()
    {
        var files = ResultConfigPaths();
        Assert.True(files.Count >= 34, $"expected the 34 committed config.json files (29 under docs/results, 5 under docs/results-6000-labels), found {files.Count}");
        var texts = files.Select(f => File.ReadAllText(Path.Combine(RepositoryRoot(), f))).ToList();
        Assert.Contains(texts, t => t.Contains("\"batch_size\""));
        Assert.Contains(texts, t => t.Contains("\"BatchSize\""));
    }

    [Theory]
    [MemberData(nameof(ResultConfigs))]
    public void EveryCommittedResultsConfigReads(string relativePath)
    {
        string path = Path.Combine(RepositoryRoot(), relativePath);
        var old = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var config = RunConfig.Read(path);
        Assert.Equal(1, config.Version);
        Assert.Contains(config.Recipe, new[] { "pretrain", "finetune", "linprobe" });
        Assert.NotNull(config.Spec);
        Assert.Equal((old["spec"]!["ImageSize"] ?? old["spec"]!["image_size"])!.GetValue<int>(), config.Spec!.ImageSize);
        Assert.Equal((old["spec"]!["MaskRatio"])!.GetValue<double>(), config.Spec.MaskRatio);
        bool pascal = old.ContainsKey("Seed");
        Assert.Equal(old[pascal ? "Seed" : "seed"]!.GetValue<long>(), config.Run.Seed);
        Assert.Equal(old[pascal ? "BatchSize" : "batch_size"]!.GetValue<int>(), config.Run.BatchSize);
        Assert.Equal(old[pascal ? "Epochs" : "epochs"]!.GetValue<int>(), config.Run.Epochs);
        Assert.Equal(old[pascal ? "BaseLr" : "base_lr"]!.GetValue<double>(), config.Run.BaseLr);
        // the computed lr is a derived value now, and equals what the options give
        Assert.Equal(old["lr"]!.GetValue<double>(), config.DerivedNumber("absolute_lr")!.Value, 12);
        Assert.Equal(config.DerivedNumber("absolute_lr")!.Value, config.Run.AbsoluteLr, 12);
        if (pascal)
        {
            Assert.Equal(old["Lr"]?.GetValue<double>(), config.Run.Lr);   // the input, not the computed "lr"
            Assert.Equal(old["runner"]!.GetValue<string>(), config.Recipe);
            Assert.Equal(old["NumClasses"]!.GetValue<int>(), config.Options["num_classes"]!.GetValue<int>());
            Assert.False(config.Options.ContainsKey("mixup_active"));
            Assert.False(config.Options.ContainsKey("absolute_lr"));
            if (config.Recipe == "finetune")
            {
                var ft = config.OptionsAs<FineTuneOptions>();
                Assert.Equal(old["LayerDecay"]!.GetValue<double>(), ft.LayerDecay);
                Assert.Equal(old["Mixup"]!.GetValue<double>(), ft.Mixup);
                Assert.Equal(old["CheckpointPeriod"]!.GetValue<int>(), ft.Run.CheckpointPeriod);
                ft.Validate();
            }
            else config.OptionsAs<LinearProbeOptions>().Validate();
        }
        else
        {
            Assert.Equal("pretrain", config.Recipe);
            Assert.Null(config.Run.Lr);                                   // blr gave the lr: no absolute lr was an input
            Assert.Equal(old["checkpoint_every_epochs"]!.GetValue<int>(), config.Run.CheckpointPeriod);
            Assert.Equal(old["steps_per_epoch"]!.GetValue<int>(), config.Derived["steps_per_epoch"]!.GetValue<int>());
            var pretrain = config.OptionsAs<PretrainOptions>();
            Assert.Equal(old["beta2"]!.GetValue<double>(), pretrain.Beta2);
            pretrain.Validate();
        }
        // and it is written back in the one current layout
        AssertCurrentLayout(config.ToJson());
    }

    /// <summary>Every key snake_case, the inputs under "run"/"options", the computed values only under "derived".</summary>
    static void AssertCurrentLayout(JsonObject json)
    {
        Assert.Equal(RunConfig.CurrentVersion, json["version"]!.GetValue<int>());
        void Keys(JsonNode? node, string where)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o)
                {
                    Assert.Matches(new Regex("^[a-z0-9_]+$"), k);
                    Keys(v, $"{where}.{k}");
                }
            else if (node is JsonArray a) foreach (var v in a) Keys(v, where);
        }
        Keys(json, "$");
        foreach (var derived in new[] { "absolute_lr", "effective_batch", "steps_per_epoch", "grid_size", "parameter_count", "mixup_active" })
        {
            Assert.False(json["run"]!.AsObject().ContainsKey(derived), $"run holds the computed {derived}");
            Assert.False(json["options"]!.AsObject().ContainsKey(derived), $"options hold the computed {derived}");
            Assert.False(json["spec"] is JsonObject spec && spec.ContainsKey(derived), $"spec holds the computed {derived}");
        }
        var reread = RunConfig.Parse(json, "round trip");
        Assert.Equal(RunConfig.CurrentVersion, reread.Version);
        Assert.Equal(json.ToJsonString(), reread.ToJson().ToJsonString());
    }

    [Theory]
    [InlineData("pretrain", "pretrain", "TinyMae")]
    [InlineData("finetune", "finetune", "VitClassifier/finetune")]
    [InlineData("linprobe", "linprobe", "VitClassifier/linprobe")]
    public void TheOldCheckpointsAndConfigsOfEachRecipeRead(string prefix, string recipe, string model)
    {
        var info = CheckpointStore.ReadInfo(Legacy($"{prefix}-epoch0.ckpt"));
        Assert.Equal(model, info.ModelName);
        Assert.Equal(0, info.Epoch);
        var fromCheckpoint = RunConfig.Parse(info.Config, "checkpoint");
        var fromFile = RunConfig.Read(Legacy($"{prefix}-config.json"));
        Assert.Equal(recipe, fromCheckpoint.Recipe);
        Assert.Equal(fromFile.Run, fromCheckpoint.Run);
        Assert.Equal(3L, fromFile.Run.Seed);
        Assert.Equal(prefix == "pretrain" ? 8 : 16, fromFile.Run.BatchSize);
        if (prefix != "pretrain") Assert.True(info.TrainSeconds > 0, "an old classifier checkpoint kept its training time in its config");
    }

    /// <summary>
    /// The resumed run's steps and lrs equal the old run's (plain double arithmetic); its losses follow the old run's within
    /// the tolerance measured across kernel paths (<see cref="RecordedNumbers"/>): the old run was recorded on another CPU.
    /// </summary>
    static void AssertLossesFollow(string legacyMetrics, string runDir, int fromStep)
    {
        var expected = TrainingLog.ReadCsv(Legacy(legacyMetrics)).Where(m => m.Step >= fromStep).ToList();
        var actual = TrainingLog.ReadCsv(Path.Combine(runDir, TrainingLog.CsvFileName));
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(m => m.Step), actual.Select(m => m.Step));
        Assert.Equal(expected.Select(m => m.Lr), actual.Select(m => m.Lr));
        RecordedNumbers.AssertClose($"legacy-{Path.GetFileNameWithoutExtension(legacyMetrics)}", [.. expected.Select(m => (double)m.Loss)],
            [.. actual.Select(m => (double)m.Loss)], i => (int)expected[i].Step);
    }

    /// <summary>An old evaluation and the resumed one: the same epoch and accuracies; losses within the tolerance at the epoch's last step.</summary>
    static void AssertEvalFollows(string name, EpochEval old, EpochEval resumed, int lastStep)
    {
        Assert.Equal((old.Epoch, old.Top1, old.Top5), (resumed.Epoch, resumed.Top1, resumed.Top5));
        RecordedNumbers.AssertClose(name, [old.TestLoss, old.TrainLoss], [resumed.TestLoss, resumed.TrainLoss], _ => lastStep);
    }

    [SkippableFact]
    public void AnOldPretrainingCheckpointResumesIntoTheOldRunsLosses()
    {
        torch.set_num_threads(1);
        string dir = NewDir("pretrain");
        var options = new PretrainOptions
        {
            Run = RecipePresets.OfficialPretrainRun with { Epochs = 2, BatchSize = 8, AccumIter = 1, Lr = 2e-3, WarmupEpochs = 1, Seed = 3, CheckpointPeriod = 1, OutputDir = dir, TensorBoard = false },
        };
        using var model = new TinyMae(99);   // other weights: all must come from the checkpoint
        using var trainer = new Pretrainer(model, options);
        var result = trainer.Run(new SyntheticBatches(48, 8, 3), Legacy("pretrain-epoch0.ckpt"), TextWriter.Null);
        Assert.Equal(12, result.Steps);
        AssertLossesFollow("pretrain-metrics.csv", dir, fromStep: 6);
        AssertCurrentLayout(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, RunConfig.FileName)))!.AsObject());
        RecordedNumbers.SkipIfMeasuring();
    }

    /// <summary>The options of the old fine-tuning run, resuming its epoch-0 checkpoint into <paramref name="dir"/>.</summary>
    static FineTuneOptions OldFineTuneRun(string dir) => new()
    {
        NumClasses = 4, EvalCropPct = 1.0,
        Run = RecipePresets.OfficialFineTuneRun with
        {
            Epochs = 2, BatchSize = 16, Lr = 2e-3, WarmupEpochs = 1, MinLr = 1e-5, OutputDir = dir, TensorBoard = false, Workers = 1, Seed = 3,
            Resume = Legacy("finetune-epoch0.ckpt"),
        },
    };

    [SkippableFact]
    public void AnOldFineTuningCheckpointResumesIntoTheOldRunsLossesAndAccuracy()
    {
        torch.set_num_threads(1);
        string dir = NewDir("finetune");
        File.Copy(Legacy("finetune-eval.csv"), Path.Combine(dir, EvalLog.CsvFileName));
        var data = new SyntheticDataset(32, channels: 1, height: 16, width: 16, numClasses: 4, seed: 2);
        var options = OldFineTuneRun(dir) with { AutoAugment = "none" };   // the old run had no RandAugment
        using var mae = new SpecMae(FineTunerTests.Tiny, seed: 42);
        using var model = FineTuner.FromPretrained(mae, options);
        using var tuner = new FineTuner(model, options);
        var result = tuner.Run(data, data, FineTunerTests.Norm, console: TextWriter.Null);
        AssertLossesFollow("finetune-metrics.csv", dir, fromStep: 2);
        var old = EvalLog.Read(Legacy("finetune-eval.csv"));
        Assert.Equal(old.Count, result.Evals.Count);
        foreach (var (o, r) in old.Zip(result.Evals)) AssertEvalFollows($"legacy-finetune-eval-{o.Epoch}", o, r, lastStep: 2 * (o.Epoch + 1) - 1);
        RecordedNumbers.SkipIfMeasuring();
    }

    [Fact]
    public void An_old_fine_tuning_checkpoint_records_no_RandAugment_so_resuming_it_with_the_new_default_is_refused_naming_aa()
    {
        torch.set_num_threads(1);
        string dir = NewDir("finetune-aa");
        var data = new SyntheticDataset(32, channels: 1, height: 16, width: 16, numClasses: 4, seed: 2);
        var options = OldFineTuneRun(dir);   // AutoAugment left at its default, rand-m9-mstd0.5-inc1
        using var mae = new SpecMae(FineTunerTests.Tiny, seed: 42);
        using var model = FineTuner.FromPretrained(mae, options);
        using var tuner = new FineTuner(model, options);
        var e = Assert.Throws<InvalidDataException>(() => tuner.Run(data, data, FineTunerTests.Norm, console: TextWriter.Null));
        Assert.Contains("--aa: checkpoint none, this run rand-m9-mstd0.5-inc1", e.Message);
        Assert.Contains("--allow-change aa", e.Message);
    }

    [SkippableFact]
    public void AnOldLinearProbeCheckpointResumesIntoTheOldRunsLossesAndAccuracy()
    {
        torch.set_num_threads(1);
        string dir = NewDir("linprobe");
        var data = new SyntheticDataset(48, channels: 1, height: 16, width: 16, numClasses: 4, seed: 1);
        var options = new LinearProbeOptions
        {
            NumClasses = 4, EvalCropPct = 1.0,
            Run = RecipePresets.OfficialLinearProbeRun with
            {
                Epochs = 2, BatchSize = 16, Lr = 2.0, WarmupEpochs = 1, OutputDir = dir, TensorBoard = false, Workers = 1, Seed = 3,
                Resume = Legacy("linprobe-epoch0.ckpt"),
            },
        };
        using var mae = new SpecMae(FineTunerTests.Tiny, seed: 7);
        using var model = LinearProbe.CreateModel(mae, options, seed: 8);
        using var probe = new LinearProbe(model, options);
        var result = probe.Run(data, data, FineTunerTests.Norm, console: TextWriter.Null);
        AssertLossesFollow("linprobe-metrics.csv", dir, fromStep: 3);
        var old = EvalLog.Read(Legacy("linprobe-eval.csv"))[^1];
        var resumed = Assert.Single(result.Evals);   // no eval.csv in this folder: only the resumed epoch's evaluation
        AssertEvalFollows("legacy-linprobe-eval", old, resumed, lastStep: 5);
        Assert.Equal(resumed.TestLoss, result.Final.Loss);
        RecordedNumbers.SkipIfMeasuring();
    }

    [Fact]
    public void AnOldCheckpointOfAnotherBatchIsRefusedInOneLine()
    {
        string dir = NewDir("refuse");
        var options = new PretrainOptions
        {
            Run = RecipePresets.OfficialPretrainRun with { Epochs = 2, BatchSize = 4, Lr = 2e-3, WarmupEpochs = 1, Seed = 3, OutputDir = dir, TensorBoard = false },
        };
        using var model = new TinyMae(1);
        using var trainer = new Pretrainer(model, options);
        var e = Assert.Throws<InvalidDataException>(() => trainer.Run(new SyntheticBatches(48, 4, 3), Legacy("pretrain-epoch0.ckpt"), TextWriter.Null));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("pretrain-epoch0.ckpt", e.Message);
    }

    [Theory]
    [InlineData("{\"hello\": 1}", "not a MaeDsl run configuration")]
    [InlineData("{\"version\": 3, \"recipe\": \"pretrain\"}", "version 3")]
    [InlineData("{\"Seed\": 0, \"BatchSize\": 8}", "without \"runner\"")]
    [InlineData("{\"seed\": \"zero\", \"batch_size\": 8}", "unreadable")]
    public void AnythingElseIsRefusedWithOneLineThatSaysWhy(string json, string why)
    {
        string path = Path.Combine(NewDir("bad"), "config.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidDataException>(() => RunConfig.Read(path));
        Assert.Contains(why, e.Message);
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}

// Training in bf16 through RunOptions.Precision (issue 11): the loop sets it on the model, config.json records it, a resume
// inside an epoch is bit-identical to the uninterrupted bf16 run, and a resume in another precision is refused.
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;
using MaeDsl.Tests.FineTune;
using MaeDsl.Tests.Faults;
using MaeDsl.Training;
using MaeDsl.Training.Pretraining;
using static TorchSharp.torch;

namespace MaeDsl.Tests.Training;

[Collection(TrainingRunsCollection.Name)]
public class Bf16TrainingTests
{
    static string NewDir() => Directory.CreateTempSubdirectory("maedsl-bf16-run-").FullName;

    static PretrainOptions Options(string dir, Precision precision) => new()
    {
        Run = RecipePresets.OfficialPretrainRun with
        {
            Epochs = 3, BatchSize = 8, AccumIter = 2, BaseLr = 1e-3, WarmupEpochs = 1, Seed = 3,
            CheckpointPeriod = 1, OutputDir = dir, TensorBoard = false, Precision = precision,
        },
    };

    /// <summary>Trains a TinyMae (fp32 as built) on 48 synthetic images; returns the result and the precision the model ran in.</summary>
    static (PretrainResult Result, Precision Ran) Train(PretrainOptions options, string? resume = null, long modelSeed = 5, CancellationToken cancel = default,
        int cancelAtEpoch = -1, int cancelAtStep = -1, CancellationTokenSource? source = null)
    {
        torch.set_num_threads(1);
        using var model = new TinyMae(modelSeed);
        Assert.Equal(Precision.Fp32, model.Precision);
        using var trainer = new Pretrainer(model, options);
        IPretrainBatches data = new SyntheticBatches(48, 8, 3);
        if (source is not null) data = new RunResumeFaultTests.CancelAt(data, cancelAtEpoch, cancelAtStep, source);
        var result = trainer.Run(data, resume, TextWriter.Null, cancel);
        return (result, model.Precision);
    }

    static List<StepMetrics> Metrics(string dir) => TrainingLog.ReadCsv(Path.Combine(dir, TrainingLog.CsvFileName));

    [Fact]
    public void A_bf16_run_cancelled_mid_epoch_resumes_bit_identically_to_the_uninterrupted_bf16_run()
    {
        var reference = Options(NewDir(), Precision.Bf16);
        var (full, ran) = Train(reference);
        Assert.Equal(Precision.Bf16, ran);                                               // the loop set the run's precision on the model
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(reference.Run.OutputDir, RunConfig.FileName)))!;
        Assert.Equal("bf16", config["run"]!["precision"]!.GetValue<string>());

        // the same run in fp32 differs in its losses: bf16 is really used (and the resume below could fail)
        var fp32 = Options(NewDir(), Precision.Fp32);
        Train(fp32);
        var bf16Losses = Metrics(reference.Run.OutputDir).Select(m => m.Loss).ToList();
        var fp32Losses = Metrics(fp32.Run.OutputDir).Select(m => m.Loss).ToList();
        Assert.Equal(fp32Losses.Count, bf16Losses.Count);
        Assert.NotEqual(fp32Losses, bf16Losses);
        Assert.Equal(fp32Losses.Last(), bf16Losses.Last(), 0.02f);                        // but the same training

        var stopped = Options(NewDir(), Precision.Bf16);
        using var cancel = new CancellationTokenSource();
        var e = Assert.Throws<RunStoppedException>(() => Train(stopped, cancel: cancel.Token, cancelAtEpoch: 1, cancelAtStep: 2, source: cancel));
        Assert.Equal((0, 4), (CheckpointStore.ReadInfo(e.Checkpoint).Epoch, CheckpointStore.ReadInfo(e.Checkpoint).StepInEpoch));
        var (resumed, resumedIn) = Train(stopped, resume: e.Checkpoint, modelSeed: 99);
        Assert.Equal(Precision.Bf16, resumedIn);
        RunResumeFaultTests.AssertSameLossBits(Metrics(reference.Run.OutputDir), Metrics(stopped.Run.OutputDir));
        RunResumeFaultTests.AssertSameWeights(full.LastCheckpoint, resumed.LastCheckpoint);
    }

    [Fact]
    public void A_resume_in_another_precision_is_refused_unless_allowed_and_the_change_is_recorded()
    {
        var first = Options(NewDir(), Precision.Bf16);
        first = first with { Run = first.Run with { Epochs = 2 } };
        Train(first);
        string checkpoint = Path.Combine(first.Run.CheckpointDir, "checkpoint-0000.ckpt");
        var fp32 = first with { Run = first.Run with { Precision = Precision.Fp32 } };
        var refused = Assert.Throws<InvalidDataException>(() => Train(fp32, resume: checkpoint));
        Assert.Contains("--precision: checkpoint bf16, this run fp32", refused.Message);
        Assert.Contains("--allow-change precision", refused.Message);

        var allowed = fp32 with { Run = fp32.Run with { AllowChange = "precision" } };
        var (_, ran) = Train(allowed, resume: checkpoint);
        Assert.Equal(Precision.Fp32, ran);
        string history = File.ReadAllText(Path.Combine(first.Run.OutputDir, RunHistory.FileName));
        Assert.Contains("\"option\":\"--precision\"", history);
    }

    [Fact]
    public void Apply_sets_the_precision_of_a_classifier_and_refuses_bf16_for_another_module()
    {
        using var mae = new TinyMae(1);
        using var classifier = mae.CreateClassifier(4);
        MaeDsl.MixedPrecision.Apply(classifier, Precision.Bf16);
        Assert.Equal(Precision.Bf16, classifier.Precision);
        MaeDsl.MixedPrecision.Apply(classifier, Precision.Fp32);
        Assert.Equal(Precision.Fp32, classifier.Precision);
        using var other = nn.Linear(2, 2);
        MaeDsl.MixedPrecision.Apply(other, Precision.Fp32);
        Assert.Throws<NotSupportedException>(() => MaeDsl.MixedPrecision.Apply(other, Precision.Bf16));
    }
}

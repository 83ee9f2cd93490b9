using MaeDsl.Evaluation;
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Training;

namespace MaeDsl.Tests.FineTune;

[Collection(TrainingRunsCollection.Name)]
public class FineTunerTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "maedsl-finetune-tests", Guid.NewGuid().ToString("N"));

    public FineTunerTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    internal static readonly MaeSpec Tiny = new(
        ImageSize: 16, PatchSize: 4, Channels: 1,
        EncoderDepth: 2, EncoderWidth: 32, EncoderHeads: 2, EncoderMlpRatio: 2, DropPath: 0,
        DecoderDepth: 1, DecoderWidth: 16, DecoderHeads: 2, DecoderMlpRatio: 2,
        MaskRatio: 0.75, Masking: MaskingStrategy.Random, MaskTokensInEncoder: false, NormalizePixels: false);

    internal static readonly Normalization Norm = new([0.3f], [0.35f]);

    FineTuneOptions Options(string name, int epochs) => new()
    {
        NumClasses = 4, EvalCropPct = 1.0,
        Run = RecipePresets.OfficialFineTuneRun with
        {
            Epochs = epochs, BatchSize = 16, Lr = 2e-3, WarmupEpochs = 1, MinLr = 1e-5,
            OutputDir = Path.Combine(root, name), TensorBoard = false, Workers = 1, Seed = 3,
        },
    };

    static Dictionary<string, Tensor> Snapshot(torch.nn.Module m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Fact]
    [Trait("Category", "Slow")]
    public void AFewStepsOnSyntheticDataLowerTheLossWithTheOfficialRegularisation()
    {
        var data = new SyntheticDataset(64, channels: 1, height: 16, width: 16, numClasses: 4, seed: 1);
        using var mae = new SpecMae(Tiny, seed: 0);
        var options = Options("lower", epochs: 8);   // RandAugment included: 4 epochs lowered it by only 0.03
        using var model = FineTuner.FromPretrained(mae, options);
        using var tuner = new FineTuner(model, options);
        Assert.NotNull(tuner.Mixup);
        Assert.NotNull(tuner.Erasing);

        var evalLoader = new BatchLoader(data, 16, Transforms.NormalizeOnly(Norm), shuffle: false, dropLast: false, workers: 1);
        var before = ClassifierEvaluation.Evaluate(model, Batch.Pairs(evalLoader.Epoch(0)));
        var result = tuner.Run(data, data, Norm, console: TextWriter.Null);
        var after = ClassifierEvaluation.Evaluate(model, Batch.Pairs(evalLoader.Epoch(0)));

        Assert.True(after.Loss < before.Loss - 0.05, $"cross-entropy on the training images went from {before.Loss:F4} to {after.Loss:F4}");
        Assert.Equal(32, result.Steps);
        Assert.Equal(8, result.Evals.Count);
        Assert.Equal(64, result.Final.Samples);
        var metrics = TrainingLog.ReadCsv(Path.Combine(options.Run.OutputDir, TrainingLog.CsvFileName));
        Assert.Equal(32, metrics.Count);
        // warmup over the first epoch (4 iterations), then cosine: lr rises, peaks, falls to ≥ min lr
        Assert.Equal(0.0, metrics[0].Lr);
        Assert.Equal(2e-3 * 3 / 4, metrics[3].Lr, 12);
        Assert.True(metrics[^1].Lr < metrics[5].Lr && metrics[^1].Lr >= 1e-5);
        Assert.Equal(8, EvalLog.Read(Path.Combine(options.Run.OutputDir, EvalLog.CsvFileName)).Count);
        Assert.True(File.Exists(Path.Combine(options.Run.OutputDir, "checkpoints", "checkpoint-0007.safetensors")));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void ResumingFromAnEpochCheckpointEqualsTheUninterruptedRun()
    {
        var data = new SyntheticDataset(32, channels: 1, height: 16, width: 16, numClasses: 4, seed: 2);
        using var mae = new SpecMae(Tiny, seed: 0);

        var full = Options("full", epochs: 2);
        using var a = FineTuner.FromPretrained(mae, full);
        using (var tuner = new FineTuner(a, full)) tuner.Run(data, data, Norm, console: TextWriter.Null);

        // resume in a copy of the run's folder from the checkpoint of epoch 0
        var resumedDir = Path.Combine(root, "resumed");
        CopyDirectory(full.Run.OutputDir, resumedDir);
        var resumed = Options("resumed", epochs: 2);
        resumed = resumed with { Run = resumed.Run with { Resume = Path.Combine(resumedDir, "checkpoints", "checkpoint-0000.ckpt") } };
        using var b = FineTuner.FromPretrained(new SpecMae(Tiny, seed: 42), resumed);   // other weights: all must come from the checkpoint
        using (var tuner = new FineTuner(b, resumed))
        {
            var r = tuner.Run(data, data, Norm, console: TextWriter.Null);
            Assert.Equal(2, r.Evals.Count); // epoch 0's evaluation kept from eval.csv, epoch 1's new
            Assert.Equal(EvalLog.Read(Path.Combine(full.Run.OutputDir, EvalLog.CsvFileName)).Select(e => (e.Epoch, e.Top1, e.TestLoss, e.TrainLoss)),
                r.Evals.Select(e => (e.Epoch, e.Top1, e.TestLoss, e.TrainLoss)));
        }
        var sa = a.state_dict();
        foreach (var (name, t) in b.state_dict())
            Assert.True(t.eq(sa[name]).all().item<bool>(), $"{name} differs after resuming");
    }

    static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(from, to));
    }

    [Fact]
    public void OfficialTinyCheckpointLoadsWithOnlyHeadAndFcNormMissingAndGivesTheOfficialLogits()
    {
        var path = ReferenceData.PathOf("mae-tiny-official.safetensors");
        var log = new List<string>();
        var (model, report) = FineTuner.LoadPretrained(ReferenceData.TinySpec, path, numClasses: 10, globalPool: true, dropPath: 0.0, seed: 0, log: log.Add);
        using var _ = model;
        Assert.Equal(new[] { "fc_norm.bias", "fc_norm.weight", "head.bias", "head.weight" }, report.Missing.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Contains("decoder_pred.weight", report.Unexpected);
        // the head and fc_norm of the reference ViT make it the official fine-tune model: same logits
        var vit = ReferenceData.TinyVitWeights();
        StateDicts.Load(model, vit.Where(kv => kv.Key.StartsWith("head.") || kv.Key.StartsWith("fc_norm.")).ToDictionary(), strict: false, "vit head");
        model.eval();
        using var logits = model.forward(ReferenceData.Tiny["input.images"]);
        Assert.True(ReferenceData.MaxAbsDiff(logits, ReferenceData.Tiny["expected.vit.logits"]) <= ReferenceData.ActivationTolerance);
    }

    [Fact]
    public void OfficialPthCheckpointLoadsAndClsPoolingMissesOnlyTheHead()
    {
        var path = ReferenceData.PathOf("mae-tiny-official-checkpoint-3.pth");
        var (model, report) = FineTuner.LoadPretrained(ReferenceData.TinySpec, path, numClasses: 10, globalPool: false, seed: 0);
        using var _ = model;
        Assert.Equal(new[] { "head.bias", "head.weight" }, report.Missing.OrderBy(k => k, StringComparer.Ordinal));
        Assert.True(model.state_dict()["norm.weight"].eq(ReferenceData.Tiny["norm.weight"]).all().item<bool>());
    }

    [Fact]
    public void LargerImagesInterpolateThePositionEmbeddingAndKeepItsClsEntry()
    {
        var path = Path.Combine(root, "tiny.safetensors");
        using var mae = new SpecMae(Tiny, seed: 5);
        StateDicts.Save(mae, path);
        var larger = Tiny with { ImageSize = 24 };      // 4×4 → 6×6 patches
        var (model, report) = FineTuner.LoadPretrained(larger, path, numClasses: 3, seed: 0);
        using var _ = model;
        var pos = model.state_dict()["pos_embed"];
        Assert.Equal(new long[] { 1, 37, 32 }, pos.shape);
        Assert.True(pos[0, 0].eq(mae.state_dict()["pos_embed"][0, 0]).all().item<bool>());
        Assert.Contains("pos_embed", report.Loaded);
    }

    [Fact]
    public void AWeightsFileWithoutTheEncoderIsRefused()
    {
        var path = Path.Combine(root, "partial.safetensors");
        using var mae = new SpecMae(Tiny, seed: 5);
        StateDicts.WriteSafetensors(path, mae.state_dict().Where(kv => !kv.Key.StartsWith("blocks.1.")));
        var e = Assert.Throws<StateDictMismatchException>(() => FineTuner.LoadPretrained(Tiny, path, numClasses: 3));
        Assert.Contains("blocks.1.", e.Message);
        Assert.Contains("partial.safetensors", e.Message);
    }
}

using MaeDsl.Data;
using MaeDsl.Training;
using TorchSharp.Modules;

namespace MaeDsl.Tests.FineTune;

[Collection(TrainingRunsCollection.Name)]
public class LinearProbeTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "maedsl-linprobe-tests", Guid.NewGuid().ToString("N"));

    public LinearProbeTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void TheProbeHeadHasTheOfficialNamesAndOnlyItIsTrainable()
    {
        using var mae = new SpecMae(FineTunerTests.Tiny, seed: 0);
        var options = new LinearProbeOptions { NumClasses = 4 };
        using var model = LinearProbe.CreateModel(mae, options);
        var keys = model.state_dict().Keys.Where(k => k.StartsWith("head.")).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "head.0.num_batches_tracked", "head.0.running_mean", "head.0.running_var", "head.1.bias", "head.1.weight" }, keys);
        Assert.Contains("norm.weight", model.state_dict().Keys);      // cls token after the encoder's norm
        Assert.DoesNotContain("fc_norm.weight", model.state_dict().Keys);
        using var probe = new LinearProbe(model, options);
        Assert.Equal(new[] { "head.1.weight", "head.1.bias" }, model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name));
        Assert.Equal(2, probe.Optimizer.parameters().Count());
        var w = model.state_dict()["head.1.weight"];
        double std = w.std().item<float>();
        Assert.InRange(std, 0.007, 0.013);                              // trunc_normal(0.01)
        Assert.True(model.state_dict()["head.1.bias"].eq(0).all().item<bool>());
        // encoder copied from the MAE
        Assert.True(model.state_dict()["blocks.1.mlp.fc2.weight"].eq(mae.state_dict()["blocks.1.mlp.fc2.weight"]).all().item<bool>());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void AFewStepsLeaveEveryEncoderParameterBitForBitUnchanged()
    {
        var data = new SyntheticDataset(48, channels: 1, height: 16, width: 16, numClasses: 4, seed: 1);
        using var mae = new SpecMae(FineTunerTests.Tiny, seed: 0);
        var options = new LinearProbeOptions
        {
            NumClasses = 4, EvalCropPct = 1.0,
            Run = RecipePresets.OfficialLinearProbeRun with
            {
                Epochs = 3, BatchSize = 16, Lr = 2.0, WarmupEpochs = 1, OutputDir = Path.Combine(root, "probe"), TensorBoard = false, Workers = 1,
            },
        };
        using var model = LinearProbe.CreateModel(mae, options);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var probe = new LinearProbe(model, options);
        var result = probe.Run(data, data, FineTunerTests.Norm, console: TextWriter.Null);
        Assert.Equal(9, result.Steps);

        foreach (var (name, p) in model.named_parameters())
        {
            if (name.StartsWith("head.")) continue;
            var old = before[name];
            Assert.Equal(old.bytes.ToArray(), p.detach().bytes.ToArray());   // bit for bit
            Assert.Null(p.grad);
        }
        Assert.False(model.state_dict()["head.1.weight"].eq(before["head.1.weight"]).all().item<bool>(), "the head must have been trained");
        Assert.False(model.state_dict()["head.0.running_mean"].eq(before["head.0.running_mean"]).all().item<bool>(), "BatchNorm's running mean must have been updated in training");
        Assert.All(result.Evals, e => Assert.True(double.IsFinite(e.TestLoss)));
    }

    [Fact]
    public void OfficialTinyCheckpointLoadsIntoTheProbe()
    {
        var options = new LinearProbeOptions { NumClasses = 10 };
        var (model, report) = LinearProbe.LoadPretrained(ReferenceData.TinySpec, ReferenceData.PathOf("mae-tiny-official.safetensors"), options);
        using var _ = model;
        Assert.All(report.Missing, k => Assert.StartsWith("head.", k));
        Assert.Contains("norm.weight", report.Loaded);
        Assert.Contains("blocks.1.attn.qkv.weight", report.Loaded);
    }
}

using System.Collections;
using MaeDsl.Checkpoints;
using static MaeDsl.Tests.ReferenceData;

namespace MaeDsl.Tests.Model;

public class CheckpointIoTests
{
    [Fact]
    public void Official_checkpoint_holds_the_reference_weights_epoch_and_optimizer_state()
    {
        var checkpoint = StateDicts.ReadPth(PathOf("mae-tiny-official-checkpoint-3.pth"));
        Assert.Equal(3, checkpoint.Epoch);
        var weights = TinyModelWeights();
        Assert.Equal(weights.Keys.Order(), checkpoint.Model.Keys.Order());
        foreach (var (name, t) in weights)
            Assert.True(MaxAbsDiff(checkpoint.Model[name], t) == 0, $"{name} differs from the safetensors weights");
        var optimizer = checkpoint.Optimizer ?? throw new Xunit.Sdk.XunitException("no optimizer entry");
        var groups = (ArrayList)optimizer["param_groups"]!;
        Assert.NotEmpty(groups);
        var state = (Hashtable)optimizer["state"]!;
        Assert.NotEmpty(state);
        Assert.Contains(state.Values.Cast<Hashtable>(), s => s["exp_avg"] is Tensor);
    }

    [Fact]
    public void Official_checkpoint_loads_into_the_model_with_trainable_parameters()
    {
        using var model = new SpecMae(TinySpec);
        var report = StateDicts.Load(model, PathOf("mae-tiny-official-checkpoint-3.pth"));
        Assert.Empty(report.Missing);
        Assert.True(model.named_parameters().Single(p => p.name == "cls_token").parameter.requires_grad);
        Assert.False(model.named_parameters().Single(p => p.name == "pos_embed").parameter.requires_grad);
        model.train();
        using var output = model.forward(Tiny["input.images"], Tiny["input.noise"]);
        Assert.True(MaxAbsDiff(output.Pred, Tiny["expected.pred"]) <= ActivationTolerance);
    }

    [Theory]
    [InlineData("weights.safetensors")]
    [InlineData("weights.pth")]
    public void Save_then_load_gives_identical_outputs(string file)
    {
        var dir = Directory.CreateTempSubdirectory("maedsl-io-");
        try
        {
            var path = Path.Combine(dir.FullName, file);
            using var a = new SpecMae(TinySpec, seed: 1);
            using var b = new SpecMae(TinySpec, seed: 2);
            StateDicts.Save(a, path);
            StateDicts.Load(b, path);
            a.eval(); b.eval();
            using var noise = rand(4, 16);
            using var oa = a.forward(Tiny["input.images"], noise);
            using var ob = b.forward(Tiny["input.images"], noise);
            Assert.True(oa.Pred.eq(ob.Pred).all().item<bool>());
            Assert.Equal(oa.Loss.item<float>(), ob.Loss.item<float>());
            Assert.Empty(Directory.GetFiles(dir.FullName, "*.tmp"));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void A_mismatched_file_names_every_missing_unexpected_and_mis_shaped_key()
    {
        var weights = TinyModelWeights();
        weights.Remove("decoder_pred.bias");
        weights["extra.weight"] = zeros(3);
        weights["norm.weight"] = zeros(65);
        using var model = new SpecMae(TinySpec);
        var e = Assert.Throws<StateDictMismatchException>(() => StateDicts.Load(model, weights, strict: true, "broken.safetensors"));
        Assert.Contains("broken.safetensors", e.Message);
        Assert.Contains("1 missing key: decoder_pred.bias", e.Message);
        Assert.Contains("1 unexpected key: extra.weight", e.Message);
        Assert.Contains("norm.weight (file [65], model [64])", e.Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        using var model = new SpecMae(TinySpec);
        var e = Assert.Throws<FileNotFoundException>(() => StateDicts.Load(model, "/nonexistent/weights.safetensors"));
        Assert.Contains("/nonexistent/weights.safetensors", e.Message);
    }

    [Fact]
    public void A_DDP_module_prefix_is_dropped()
    {
        var dir = Directory.CreateTempSubdirectory("maedsl-io-");
        try
        {
            var path = Path.Combine(dir.FullName, "ddp.pth");
            StateDicts.WritePth(path, TinyModelWeights().Select(kv => KeyValuePair.Create("module." + kv.Key, kv.Value)));
            using var model = new SpecMae(TinySpec);
            Assert.Empty(StateDicts.Load(model, path).Missing);
            Assert.True(MaxAbsDiff(model.state_dict()["decoder_pred.weight"], TinyModelWeights()["decoder_pred.weight"]) == 0);
        }
        finally { dir.Delete(recursive: true); }
    }
}

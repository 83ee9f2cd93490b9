using MaeDsl.Training;
using TorchSharp.Modules;

namespace MaeDsl.Tests.FineTune;

public class LayerDecayTests
{
    public LayerDecayTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    /// <summary>
    /// The official rule, written out per name for ViT-B (depth 12, num_layers 13, layer_decay 0.75, wd 0.05):
    /// cls_token, pos_embed, patch_embed.* → 0.75^13; blocks.i.* → 0.75^(12−i); fc_norm.*, head.* → 1.
    /// No weight decay: 1-D tensors, pos_embed, cls_token.
    /// </summary>
    internal static (double Scale, double WeightDecay, string Group) ExpectedForVitBase(string name, long[] shape)
    {
        double scale;
        string layer;
        if (name is "cls_token" or "pos_embed" || name.StartsWith("patch_embed.")) { scale = Math.Pow(0.75, 13); layer = "layer_0"; }
        else if (name.StartsWith("blocks."))
        {
            int i = int.Parse(name.Split('.')[1]);
            scale = Math.Pow(0.75, 12 - i);
            layer = $"layer_{i + 1}";
        }
        else if (name.StartsWith("fc_norm.") || name.StartsWith("head.")) { scale = 1.0; layer = "layer_13"; }
        else throw new InvalidOperationException($"unexpected ViT-B parameter '{name}'");
        bool noDecay = shape.Length == 1 || name is "pos_embed" or "cls_token";
        return (scale, noDecay ? 0.0 : 0.05, layer + (noDecay ? "_no_decay" : "_decay"));
    }

    internal static void AssertVitBaseGroups(IReadOnlyList<LayerDecayGroup> groups, IReadOnlyList<(string Name, long[] Shape)> keys)
    {
        var seen = new HashSet<string>();
        foreach (var g in groups)
            foreach (var (name, p) in g.Parameters)
            {
                Assert.True(seen.Add(name), $"{name} is in two groups");
                var expected = ExpectedForVitBase(name, p.shape);
                Assert.True(Math.Abs(expected.Scale - g.LrScale) < 1e-15, $"{name}: lr scale {g.LrScale}, expected {expected.Scale}");
                Assert.Equal(expected.WeightDecay, g.WeightDecay);
                Assert.Equal(expected.Group, g.Name);
            }
        Assert.Equal(keys.Select(k => k.Name).OrderBy(n => n, StringComparer.Ordinal), seen.OrderBy(n => n, StringComparer.Ordinal));
        // 14 layers × {decay, no_decay}: layer 0 and every block have both; the head layer has head.weight (decay)
        // and fc_norm.*, head.bias (no decay).
        Assert.Equal(28, groups.Count);
        Assert.Equal("layer_0_no_decay", groups[0].Name); // cls_token comes first in the official order
        Assert.Equal(Math.Pow(0.75, 12), groups.Single(g => g.Name == "layer_1_decay").LrScale, 15);
        Assert.Equal(Math.Pow(0.75, 13), groups.Single(g => g.Name == "layer_0_decay").LrScale, 15);
        Assert.Equal(1.0, groups.Single(g => g.Name == "layer_13_decay").LrScale);
        Assert.Equal(new[] { "head.weight" }, groups.Single(g => g.Name == "layer_13_decay").Parameters.Select(p => p.Name));
    }

    [Fact]
    public void OfficialVitBaseNamesGetTheOfficialScalesAndWeightDecay()
    {
        var keys = FineTuneTestData.ReadKeys("vit_base_patch16_finetune.keys.tsv");
        // The rule depends on names, shapes and requires_grad only: meta tensors carry the shapes without memory.
        var named = keys.Select(k => (k.Name, new Parameter(torch.empty(k.Shape, device: torch.META)))).ToList();
        var groups = LayerDecay.ParamGroups(named, depth: 12, weightDecay: 0.05, layerDecay: 0.75);
        AssertVitBaseGroups(groups, keys);
    }

    [Fact]
    public void FrozenParametersAreLeftOut()
    {
        var a = new Parameter(torch.zeros(3, 3));
        var b = new Parameter(torch.zeros(3, 3), requires_grad: false);
        var groups = LayerDecay.ParamGroups(new[] { ("blocks.0.attn.qkv.weight", a), ("blocks.0.attn.proj.weight", b) }, depth: 1);
        Assert.Single(groups);
        Assert.Equal(new[] { "blocks.0.attn.qkv.weight" }, groups[0].Parameters.Select(p => p.Name));
        Assert.Equal(0.75, groups[0].LrScale, 15);
    }

    [Fact]
    public void ABlockBeyondTheDepthIsAnError()
    {
        var p = new Parameter(torch.zeros(2, 2));
        var e = Assert.Throws<ArgumentException>(() => LayerDecay.ParamGroups(new[] { ("blocks.5.mlp.fc1.weight", p) }, depth: 2));
        Assert.Contains("blocks.5.mlp.fc1.weight", e.Message);
    }

    [Fact]
    public void AdamWGroupsCarryTheScaledLrAndTheirOwnWeightDecay()
    {
        var w = new Parameter(torch.ones(2, 2));
        var bias = new Parameter(torch.ones(2));
        var head = new Parameter(torch.ones(2, 2));
        var groups = LayerDecay.ParamGroups(new[] { ("blocks.0.mlp.fc1.weight", w), ("blocks.0.mlp.fc1.bias", bias), ("head.weight", head) }, depth: 1, weightDecay: 0.05, layerDecay: 0.5);
        using var adamw = LayerDecay.CreateAdamW(groups, lr: 1e-3);
        LrSchedule.SetLearningRate(adamw, 0.01, LayerDecay.LrScales(groups));
        var pgs = adamw.ParamGroups.Cast<AdamW.ParamGroup>().ToList();
        Assert.Equal(3, pgs.Count);
        Assert.Equal(0.005, pgs[0].LearningRate, 15);   // blocks.0 → layer 1 of 2 → 0.5^1
        Assert.Equal(0.005, pgs[1].LearningRate, 15);
        Assert.Equal(0.01, pgs[2].LearningRate, 15);    // head → layer 2 → scale 1
        Assert.Equal(0.05, pgs[0].Options.weight_decay);
        Assert.Equal(0.0, pgs[1].Options.weight_decay);
        Assert.Equal(0.05, pgs[2].Options.weight_decay);

        // One AdamW step with zero gradients: only decoupled weight decay acts, p ← p·(1 − lr·wd).
        foreach (var p in new[] { w, bias, head }) p.grad = torch.zeros_like(p);
        adamw.step();
        Assert.Equal(1 - 0.005 * 0.05, w.data<float>()[0], 6);
        Assert.Equal(1.0, bias.data<float>()[0], 6);
        Assert.Equal(1 - 0.01 * 0.05, head.data<float>()[0], 6);
    }
}

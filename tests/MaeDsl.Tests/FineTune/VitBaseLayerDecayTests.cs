using MaeDsl.Training;

namespace MaeDsl.Tests.FineTune;

public class VitBaseLayerDecayTests
{
    public VitBaseLayerDecayTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    static readonly MaeSpec VitBase = new(
        ImageSize: 224, PatchSize: 16, Channels: 3,
        EncoderDepth: 12, EncoderWidth: 768, EncoderHeads: 12, EncoderMlpRatio: 4, DropPath: 0,
        DecoderDepth: 8, DecoderWidth: 512, DecoderHeads: 16, DecoderMlpRatio: 4,
        MaskRatio: 0.75, Masking: MaskingStrategy.Random, MaskTokensInEncoder: false, NormalizePixels: true);

    /// <summary>The real ViT-B/16 classifier (86M parameters, built once): its parameter names are the official
    /// fine-tune keys, and its layer-decay groups follow the official rule name by name.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void VitBaseClassifierGroupsFollowParamGroupsLrd()
    {
        var keys = FineTuneTestData.ReadKeys("vit_base_patch16_finetune.keys.tsv");
        using var model = new VitClassifier(VitBase, numClasses: 1000, globalPool: true, dropPath: 0.1, seed: 0);
        var named = model.named_parameters().ToList();
        Assert.Equal(keys.Select(k => k.Name).OrderBy(n => n, StringComparer.Ordinal), named.Select(n => n.name).OrderBy(n => n, StringComparer.Ordinal));
        foreach (var (name, p) in named)
            Assert.Equal(keys.Single(k => k.Name == name).Shape, p.shape);
        var groups = LayerDecay.ParamGroups(named, model.Depth, weightDecay: 0.05, layerDecay: 0.75);
        LayerDecayTests.AssertVitBaseGroups(groups, keys);
        // spot checks of the brief: blocks.0.* at 0.75^12, patch_embed at 0.75^13, head at 1
        double ScaleOf(string n) => groups.Single(g => g.Parameters.Any(p => p.Name == n)).LrScale;
        Assert.Equal(Math.Pow(0.75, 12), ScaleOf("blocks.0.attn.qkv.weight"), 15);
        Assert.Equal(Math.Pow(0.75, 1), ScaleOf("blocks.11.mlp.fc2.bias"), 15);
        Assert.Equal(Math.Pow(0.75, 13), ScaleOf("patch_embed.proj.weight"), 15);
        Assert.Equal(1.0, ScaleOf("head.weight"));
        Assert.Equal(1.0, ScaleOf("fc_norm.bias"));
    }
}

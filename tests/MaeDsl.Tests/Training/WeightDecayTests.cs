using MaeDsl.Training;
using TorchSharp.Modules;

namespace MaeDsl.Tests.Training;

public class WeightDecayTests
{
    static string ReferenceFile(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Reference", name);
        Assert.True(File.Exists(path), $"reference file missing: {path} (copied from tests/MaeDsl.Tests/Reference/{name})");
        return path;
    }

    // The official rule, stated per name for mae_vit_base_patch16 (timm 0.3.2 add_weight_decay):
    // 1-D tensors and *.bias → no decay; everything else decays (cls_token, mask_token [1,1,W] included);
    // pos_embed and decoder_pos_embed are frozen and never reach the optimizer.
    [Theory]
    [InlineData("cls_token", true)]
    [InlineData("mask_token", true)]
    [InlineData("patch_embed.proj.weight", true)]
    [InlineData("patch_embed.proj.bias", false)]
    [InlineData("blocks.0.norm1.weight", false)]
    [InlineData("blocks.0.norm1.bias", false)]
    [InlineData("blocks.0.attn.qkv.weight", true)]
    [InlineData("blocks.0.attn.qkv.bias", false)]
    [InlineData("blocks.11.mlp.fc2.weight", true)]
    [InlineData("norm.weight", false)]
    [InlineData("decoder_embed.weight", true)]
    [InlineData("decoder_blocks.7.attn.proj.weight", true)]
    [InlineData("decoder_norm.bias", false)]
    [InlineData("decoder_pred.weight", true)]
    [InlineData("decoder_pred.bias", false)]
    public void OfficialMaeBaseNamesFollowTheRule(string name, bool decayed)
    {
        var shapes = OfficialShapes();
        Assert.True(shapes.ContainsKey(name), $"{name} is not an official key");
        Assert.Equal(decayed, WeightDecay.IsDecayed(name, shapes[name]));
    }

    [Fact]
    public void OfficialMaeBaseCounts()
    {
        // 254 keys: 2 frozen pos embeds; 85 decayed (cls, mask token, patch_embed, decoder_embed, decoder_pred
        // weights + 4 Linear weights in each of 12 + 8 blocks); the other 167 not decayed.
        var shapes = OfficialShapes();
        Assert.Equal(254, shapes.Count);
        var trainable = shapes.Where(kv => kv.Key is not ("pos_embed" or "decoder_pos_embed")).ToList();
        Assert.Equal(85, trainable.Count(kv => WeightDecay.IsDecayed(kv.Key, kv.Value)));
        Assert.Equal(167, trainable.Count(kv => !WeightDecay.IsDecayed(kv.Key, kv.Value)));
    }

    sealed class Toy : torch.nn.Module
    {
        public readonly Parameter cls_token = new(torch.zeros(1, 1, 4));
        public readonly Parameter pos_embed = new(torch.zeros(1, 3, 4), requires_grad: false);
        public readonly Linear proj = torch.nn.Linear(4, 4);
        public readonly LayerNorm norm = torch.nn.LayerNorm(4);
        public readonly Parameter scale = new(torch.ones(2, 2));
        public Toy() : base("Toy") => RegisterComponents();
    }

    [Fact]
    public void SplitsAModuleAndSkipsFrozenParameters()
    {
        using var toy = new Toy();
        var (noDecay, decay) = WeightDecay.Split(toy);
        // Each list keeps named_parameters() order (TorchSharp lists a module's own parameters before its children's).
        var order = toy.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(new[] { "proj.bias", "norm.weight", "norm.bias" }.OrderBy(order.IndexOf), noDecay.Select(p => p.Name));
        Assert.Equal(new[] { "cls_token", "proj.weight", "scale" }.OrderBy(order.IndexOf), decay.Select(p => p.Name));
        var (noDecay2, decay2) = WeightDecay.Split(toy, new HashSet<string> { "scale" });
        Assert.Contains("scale", noDecay2.Select(p => p.Name));
        Assert.DoesNotContain("scale", decay2.Select(p => p.Name));
    }

    [Fact]
    public void GroupsKeepTheirLrAndDecay()
    {
        // TorchSharp 0.107's ParamGroup(ps, weight_decay: 0) resets lr to 1e-3; the groups must keep ours.
        using var toy = new Toy();
        using var optimizer = WeightDecay.CreateOptimizer(toy, lr: 3.75e-5, weightDecay: 0.05);
        var groups = optimizer.ParamGroups.Cast<AdamW.ParamGroup>().ToArray();
        Assert.Equal(2, groups.Length);
        Assert.All(groups, g => Assert.Equal(3.75e-5, g.LearningRate));
        Assert.Equal(0.0, groups[0].Options.weight_decay);
        Assert.Equal(0.05, groups[1].Options.weight_decay);
        Assert.All(groups, g => Assert.Equal((0.9, 0.95), g.Betas));
        Assert.Equal(3, groups[0].Parameters.Count());
        Assert.Equal(3, groups[1].Parameters.Count());
    }

    static Dictionary<string, long[]> OfficialShapes() =>
        File.ReadAllLines(ReferenceFile("mae_vit_base_patch16.keys.tsv"))
            .Where(l => l.Length > 0)
            .Select(l => l.Split('\t'))
            .ToDictionary(f => f[0], f => f[1].Split('x').Select(long.Parse).ToArray());
}

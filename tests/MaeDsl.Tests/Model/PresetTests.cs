using static MaeDsl.Tests.ReferenceData;

namespace MaeDsl.Tests.Model;

/// <summary>The official presets: parameter counts and state_dict keys (Reference/param_counts.tsv, *.keys.tsv).</summary>
public class PresetTests
{
    public static MaeSpec Preset(string name) => name switch
    {
        "mae_vit_base_patch16" => Make(16, 12, 768, 12),
        "mae_vit_large_patch16" => Make(16, 24, 1024, 16),
        "mae_vit_huge_patch14" => Make(14, 32, 1280, 16),
        _ => throw new ArgumentException(name),
    };

    static MaeSpec Make(int patch, int depth, int width, int heads) => new(
        224, patch, 3, depth, width, heads, 4.0, 0.0, 8, 512, 16, 4.0, 0.75, MaskingStrategy.Random, false, false);

    public static TheoryData<string> Presets => new() { "mae_vit_base_patch16", "mae_vit_large_patch16", "mae_vit_huge_patch14" };

    static string[] Row(string model) => Tsv("param_counts.tsv").Single(r => r[0] == model);

    [Theory]
    [MemberData(nameof(Presets))]
    public void Spec_arithmetic_equals_the_official_counts(string model)
    {
        var row = Row(model);
        var spec = Preset(model);
        Assert.Empty(spec.Validate());
        Assert.Equal(long.Parse(row[1]), spec.ParameterCount);
        Assert.Equal(long.Parse(row[2]), spec.ParameterCount + spec.FrozenParameterCount);
        Assert.Equal(long.Parse(row[4]), spec.EncoderParameterCount);
        Assert.Equal(long.Parse(row[5]), spec.ClassifierParameterCount(1000));
    }

    [Theory]
    [Trait("Category", "Slow")]
    [MemberData(nameof(Presets))]
    public void Built_models_have_the_official_counts(string model)
    {
        var row = Row(model);
        using var _ = no_grad();
        using var mae = new SpecMae(Preset(model));
        Assert.Equal(long.Parse(row[1]), mae.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
        var stateDict = mae.state_dict();
        Assert.Equal(long.Parse(row[2]), stateDict.Values.Sum(t => t.numel()));
        Assert.Equal(int.Parse(row[3]), stateDict.Count);
        using var classifier = mae.CreateClassifier(1000);
        Assert.Equal(long.Parse(row[5]), classifier.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
    }

    static void AssertKeys(string file, IEnumerable<KeyValuePair<string, Tensor>> actual)
    {
        var expected = Tsv(file).Select(r => (Name: r[0], Shape: r[1])).ToList();
        var mine = actual.Select(kv => (Name: kv.Key, Shape: string.Join("x", kv.Value.shape))).ToList();
        Assert.Equal(expected.OrderBy(k => k.Name, StringComparer.Ordinal), mine.OrderBy(k => k.Name, StringComparer.Ordinal));
        Assert.Equal(expected.Select(k => k.Name), mine.Select(k => k.Name));   // and in the official order
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void ViT_B_state_dict_keys_and_shapes_are_official()
    {
        using var _ = no_grad();
        using var mae = new SpecMae(Preset("mae_vit_base_patch16"));
        AssertKeys("mae_vit_base_patch16.keys.tsv", mae.state_dict());
        using var classifier = mae.CreateClassifier(1000, globalPool: true);
        AssertKeys("vit_base_patch16_finetune.keys.tsv", classifier.state_dict());
    }

    [Fact]
    public void Cls_token_pooling_has_norm_and_no_fc_norm()
    {
        using var mae = new SpecMae(TinySpec);
        using var pooled = mae.CreateClassifier(10, globalPool: true);
        using var cls = mae.CreateClassifier(10, globalPool: false);
        Assert.Contains("fc_norm.weight", pooled.state_dict().Keys);
        Assert.DoesNotContain("norm.weight", pooled.state_dict().Keys);
        Assert.Contains("norm.weight", cls.state_dict().Keys);
        Assert.DoesNotContain("fc_norm.weight", cls.state_dict().Keys);
        // With the cls token, norm is the MAE encoder's norm, copied.
        Assert.True(cls.state_dict()["norm.weight"].eq(mae.state_dict()["norm.weight"]).all().item<bool>());
    }

    [Fact]
    public void Classifier_encoder_is_a_copy_not_shared()
    {
        using var mae = new SpecMae(TinySpec);
        using var classifier = mae.CreateClassifier(10);
        using (no_grad()) classifier.state_dict()["blocks.0.attn.qkv.weight"].add_(1);
        Assert.False(classifier.state_dict()["blocks.0.attn.qkv.weight"].eq(mae.state_dict()["blocks.0.attn.qkv.weight"]).all().item<bool>());
        Assert.True(classifier.named_parameters().Single(p => p.name == "pos_embed").parameter.requires_grad);
    }

    [Fact]
    public void Mask_tokens_in_the_encoder_change_the_count_and_still_train()
    {
        var spec = MaeTinyMaskTokensInEncoder.Specification;
        Assert.Equal(TinySpec with { MaskTokensInEncoder = true }, spec);
        using var mae = new MaeTinyMaskTokensInEncoder(seed: 3);
        Assert.Equal(MaeTinyMaskTokensInEncoder.ParameterCount, mae.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
        Assert.Equal(TinySpec.ParameterCount - 32 + 64, spec.ParameterCount);
        mae.train();
        using var output = mae.forward(randn(2, 3, 32, 32));
        Assert.Equal([2, 17, 64], output.Latent.shape);   // cls + all 16 positions
        Assert.Equal([2, 16, 192], output.Pred.shape);
        output.Loss.backward();
        var maskToken = mae.named_parameters().Single(p => p.name == "mask_token").parameter;
        Assert.Equal([1, 1, 64], maskToken.shape);
        Assert.True(maskToken.grad!.abs().sum().item<float>() > 0);
    }
}

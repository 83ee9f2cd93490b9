using MaeDsl.Presets;

namespace MaeDsl.Tests.Model;

/// <summary>
/// The model registry as a host sees it: the generated module initializers of MaeDsl.dll (the presets) and of this
/// test assembly (its DSL variants) have registered every model; a model built with a run-time masking override
/// keeps its architecture and guards; the same key from two assemblies is an error naming both.
/// </summary>
public class RegistryTests
{
    [Fact]
    public void Presets_are_found_by_key_and_by_class_name()
    {
        var vitB = MaeModels.Find("vit-b16");
        Assert.Same(vitB, MaeModels.Find("MaeVitBase16"));
        Assert.Same(vitB, MaeModels.Find("maedsl.presets.maevitbase16"));
        Assert.Equal(typeof(MaeVitBase16).FullName, vitB.FullName);
        Assert.Equal("MaeVitBase16", vitB.ClassName);
        Assert.Equal("official mae_vit_base_patch16 (224×224 RGB)", vitB.Description);
        Assert.Equal(MaeVitBase16.Specification, vitB.Spec);
        Assert.Same(typeof(MaeVitBase16).Assembly, vitB.Assembly);
        Assert.False(vitB.IsDefault);

        var presets = MaeModels.All.Where(m => m.Assembly == typeof(MaskedAutoencoder).Assembly).ToList();
        Assert.Equal(["vit-b16", "vit-l16", "vit-h14"], presets.Select(m => m.Key));
        Assert.Equal(["official mae_vit_large_patch16 (224×224 RGB)", "official mae_vit_huge_patch14 (224×224 RGB)"], presets.Skip(1).Select(m => m.Description));
        Assert.Equal(MaeVitHuge14.Specification, MaeModels.Find("vit-h14").Spec);
    }

    [Fact]
    public void A_model_of_this_assembly_is_registered_by_its_kebab_case_key_with_its_shape_as_description()
    {
        var tiny = MaeModels.Find("mae-tiny-official");
        Assert.Equal(typeof(MaeTinyOfficial).FullName, tiny.FullName);
        Assert.Same(typeof(RegistryTests).Assembly, tiny.Assembly);
        Assert.Equal(MaeTinyOfficial.Specification, tiny.Spec);
        Assert.Equal("32×32×3, patch 8, encoder 2×64, decoder 1×32", tiny.Description);
        Assert.Same(tiny, MaeModels.Find("MaeTinyOfficial"));
        Assert.Equal("32×32×3, patch 8, encoder 2×64, decoder 1×32, mask tokens in encoder", MaeModels.Find("mae-tiny-mask-tokens-in-encoder").Description);
        Assert.Null(MaeModels.Default); // nothing here is marked [MaeModel(Default = true)]

        // the library's words: the method and its argument, never the runner's --model
        var unknown = Assert.Throws<ArgumentException>(() => MaeModels.Find("no-such-model"));
        Assert.StartsWith("MaeModels.Find(\"no-such-model\"): no registered model has this key or class name; registered: vit-b16, ", unknown.Message);
        Assert.Equal("nameOrKey", unknown.ParamName);
        Assert.Contains("mae-tiny-official", unknown.Message);
        Assert.DoesNotContain("--model", unknown.Message);
        Assert.Empty(MaeModels.Matches("no-such-model"));
    }

    [Fact]
    public void A_masking_override_builds_the_same_architecture_with_another_ratio_and_it_runs()
    {
        using var scope = NewDisposeScope();
        using var model = new MaeTinyOfficial(seed: 3, new MaskingOverride(0.5));
        Assert.Equal(0.5, model.Spec.MaskRatio);
        Assert.Equal(8, model.Spec.VisibleCount);                          // (int)(16 × 0.5), the constant stays 4
        Assert.Equal(MaeTinyOfficial.Specification with { MaskRatio = 0.5 }, model.Spec);

        var images = rand(new long[] { 2, 3, 32, 32 }, generator: new Generator(5));
        using var output = model.forward(images);
        Assert.True(float.IsFinite(output.Loss.item<float>()));
        Assert.Equal([2, 16, 192], output.Pred.shape);
        Assert.Equal([2, 1 + 8, 64], output.Latent.shape);
        Assert.Equal([8f, 8f], output.Mask.sum(1).data<float>().ToArray()); // 8 of 16 removed per image
        using var withNoise = model.forward(images, rand(new long[] { 2, 16 }, generator: new Generator(6)));
        Assert.Equal([2, 1 + 8, 64], withNoise.Latent.shape);

        // the guards still check the architecture, not the declared ratio
        var e = Assert.Throws<ShapeMismatchException>(() => model.forward(images, zeros(2, 8)));
        Assert.Equal("MaeTinyOfficial.forward: noise must be [2, 16], got [2, 8]", e.Message);

        // the registry's factory builds the same model: same class, same seed, same weights
        using var viaRegistry = MaeModels.Find("mae-tiny-official").Create(3, new MaskingOverride(0.5));
        Assert.IsType<MaeTinyOfficial>(viaRegistry);
        Assert.Equal(model.Spec, viaRegistry.Spec);
        var a = model.state_dict(); var b = viaRegistry.state_dict();
        Assert.All(a.Keys, k => Assert.True(a[k].equal(b[k]).all().item<bool>(), k));
        Assert.Equal(MaeTinyOfficial.Specification, MaeModels.Find("mae-tiny-official").Create(3).Spec);
    }

    [Fact]
    public void Grid_masking_at_another_ratio_is_refused_with_the_MAE008_message()
    {
        var grid = new MaskingOverride(Strategy: MaskingStrategy.Grid, Ratio: 0.5);
        var e = Assert.Throws<ArgumentException>(() => new MaeTinyOfficial(1, grid));
        Assert.Contains("MAE008", e.Message);
        Assert.Contains("Grid masking keeps one patch of every 2×2, so it removes exactly 0.75 of them; Ratio 0.5 is not 0.75", e.Message);
        Assert.Throws<ArgumentException>(() => MaeModels.Find("vit-b16").Create(1, grid));
        Assert.Equal(MaskingStrategy.Grid, new MaskingOverride(Strategy: MaskingStrategy.Grid).ApplyTo(MaeTinyOfficial.Specification).Masking);
    }

    [Fact]
    public void Two_default_models_are_an_error_naming_the_property_and_both()
    {
        MaeModelInfo Fake(string fullName) => new(fullName.ToLowerInvariant().Replace('.', '-'), fullName.Split('.')[^1], fullName, "a fake entry",
            MaeTinyOfficial.Specification, true, typeof(RegistryTests).Assembly, (seed, masking) => new MaeTinyOfficial(seed, masking));
        var e = Assert.Throws<InvalidOperationException>(() => MaeModels.DefaultOf([Fake("Fake.A"), Fake("Fake.B")]));   // not registered: the registry stays as it is
        Assert.Equal("MaeModels.Default: Fake.A (MaeDsl.Tests) and Fake.B (MaeDsl.Tests) are each marked [MaeModel(Default = true)]; keep it on one of them", e.Message);
        Assert.Equal("Fake.A", MaeModels.DefaultOf([Fake("Fake.A")])!.FullName);
    }

    [Fact]
    public void The_same_key_from_two_assemblies_is_an_error_naming_both()
    {
        // Fake entries under a key no real model has; the registry is process-wide, so the key is unique to this test.
        const string key = "registry-test-duplicate";
        MaeModelInfo Fake(string fullName, System.Reflection.Assembly assembly) => new(key, fullName.Split('.')[^1], fullName, "a fake entry",
            MaeTinyOfficial.Specification, false, assembly, (seed, masking) => new MaeTinyOfficial(seed, masking));
        MaeModels.Register([Fake("Fake.FirstMae", typeof(object).Assembly), Fake("Fake.SecondMae", typeof(RegistryTests).Assembly)]);

        string expected = $"model key '{key}' is declared by Fake.FirstMae (System.Private.CoreLib) and Fake.SecondMae (MaeDsl.Tests)";
        Assert.Contains(expected, MaeModels.Conflicts());
        var e = Assert.Throws<InvalidOperationException>(() => MaeModels.Find(key));
        Assert.Equal($"MaeModels.Find(\"{key}\") is ambiguous: Fake.FirstMae (System.Private.CoreLib) and Fake.SecondMae (MaeDsl.Tests) match; pass a full class name", e.Message);
        Assert.Equal(2, MaeModels.Matches(key).Count);
        Assert.Same(MaeModels.Find("Fake.SecondMae"), MaeModels.All.Single(m => m.FullName == "Fake.SecondMae")); // a full name still resolves

        Assert.All(MaeModels.Conflicts(), c => Assert.Contains(key, c)); // the real models' keys are distinct
    }

    [Theory]
    [InlineData("MySatelliteMae", "my-satellite-mae")]
    [InlineData("MaeVitBase16", "mae-vit-base16")]
    [InlineData("MaeFashionTinyDecoder1", "mae-fashion-tiny-decoder1")]
    [InlineData("Vit16Base", "vit16-base")]
    [InlineData("HTTPServerMae", "http-server-mae")]
    [InlineData("MaeViT", "mae-vi-t")]
    [InlineData("Mae2DGrid", "mae2-d-grid")]
    [InlineData("my_mae__v2", "my-mae-v2")]
    [InlineData("_Mae", "mae")]
    [InlineData("mae", "mae")]
    public void The_key_of_a_class_name_is_its_kebab_case(string className, string key)
    {
        Assert.Equal(key, MaeRules.ModelKey(className));
        Assert.True(MaeRules.IsValidModelKey(key));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Vit-B16")]
    [InlineData("vit--b16")]
    [InlineData("-vit")]
    [InlineData("vit-")]
    [InlineData("vit b16")]
    [InlineData("vit_b16")]
    [InlineData("modèle")]
    public void Invalid_keys_are_refused(string key) => Assert.False(MaeRules.IsValidModelKey(key));
}

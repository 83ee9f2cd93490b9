using System.Globalization;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// Generated variants run: built in memory by the generator against the real MaeDsl.dll, loaded and
/// called. Their constants agree with the modules the runtime builds, and their guards throw the
/// documented messages before any computation.
/// </summary>
public class GeneratedModelTests
{
    private static readonly Lazy<Assembly> Built = new(() =>
    {
        var (output, result) = TestCompilation.Generate(TestCompilation.Create(Variants.All.Values.ToArray()));
        Assert.Equal(Variants.All.Count, TestCompilation.ModelTrees(result).Length);
        return TestCompilation.Load(output);
    });

    private static Type Model(string fullName) =>
        Built.Value.GetType(fullName) ?? throw new InvalidOperationException($"the generated assembly has no type {fullName}");

    /// <summary>The generated constructor <c>X(long? seed = null, MaskingOverride? masking = null)</c>, by reflection.</summary>
    private static MaskedAutoencoder Create(string fullName, long? seed = 1, MaskingOverride? masking = null) =>
        (MaskedAutoencoder)Activator.CreateInstance(Model(fullName), seed, masking)!;

    private static T Constant<T>(Type type, string name) =>
        (T)(type.GetField(name, BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue()
            ?? throw new InvalidOperationException($"{type.Name} has no constant {name}"));

    public static TheoryData<string> SmallModels => new()
    {
        "Tests.Tiny.MaeTiny", "FashionMae", "Tests.Ablations.BlockMae", "Tests.Ablations.GridMae",
        "Tests.Ablations.NormPixMae", "Tests.Ablations.EncoderWithMaskTokensMae", "Tests.Nested.Zoo+SmallMae",
        "Tests.Registry.MySatelliteMae",
    };

    [Theory]
    [MemberData(nameof(SmallModels))]
    public void ParameterCount_is_the_trainable_numel_of_the_built_model(string fullName)
    {
        using var model = Create(fullName);
        long trainable = model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        Assert.Equal(Constant<long>(Model(fullName), "ParameterCount"), trainable);
        Assert.Equal(model.Spec, Model(fullName).GetProperty("Specification")!.GetValue(null));
    }

    [Theory]
    [MemberData(nameof(SmallModels))]
    public void Forward_returns_the_shapes_of_the_constants(string fullName)
    {
        var type = Model(fullName);
        int c = Constant<int>(type, "Channels"), size = Constant<int>(type, "ImageSize"), l = Constant<int>(type, "NumPatches"),
            patchDim = Constant<int>(type, "PatchDim"), visible = Constant<int>(type, "VisibleCount"), width = Constant<int>(type, "EncoderWidth");
        using var scope = NewDisposeScope();
        using var model = Create(fullName);
        var images = rand(new long[] { 2, c, size, size }, generator: new Generator(7));
        using var output = model.forward(images);
        Assert.Equal(Array.Empty<long>(), output.Loss.shape);
        Assert.True(float.IsFinite(output.Loss.item<float>()));
        Assert.Equal(new long[] { 2, l, patchDim }, output.Pred.shape);
        Assert.Equal(new long[] { 2, l }, output.Mask.shape);
        Assert.Equal(new long[] { 2, l }, output.IdsRestore.shape);
        bool tokensInEncoder = ((MaeSpec)type.GetProperty("Specification")!.GetValue(null)!).MaskTokensInEncoder;
        Assert.Equal(new long[] { 2, 1 + (tokensInEncoder ? l : visible), width }, output.Latent.shape);
        Assert.Equal(new long[] { 2, 1 + l, width }, model.Encode(images).shape);
        var patches = model.Patchify(images);
        Assert.Equal(new long[] { 2, l, patchDim }, patches.shape);
        Assert.True(model.Unpatchify(patches).allclose(images));
    }

    /// <summary>
    /// A model built with a run-time masking override (another ratio, random masking) keeps every guard: they check the
    /// architecture's constants, so right inputs pass and wrong ones fail as before; only the latent's token count follows the ratio.
    /// </summary>
    [Theory]
    [MemberData(nameof(SmallModels))]
    public void A_masking_override_keeps_the_guards_and_changes_only_the_masking(string fullName)
    {
        var type = Model(fullName);
        int c = Constant<int>(type, "Channels"), size = Constant<int>(type, "ImageSize"), l = Constant<int>(type, "NumPatches"), width = Constant<int>(type, "EncoderWidth");
        using var scope = NewDisposeScope();
        using var model = Create(fullName, 2, new MaskingOverride(0.5, MaskingStrategy.Random));
        Assert.Equal(model.GetType(), type);
        Assert.Equal((0.5, MaskingStrategy.Random, l / 2), (model.Spec.MaskRatio, model.Spec.Masking, model.Spec.VisibleCount));

        var images = rand(new long[] { 2, c, size, size }, generator: new Generator(7));
        using var output = model.forward(images, rand(new long[] { 2, l }, generator: new Generator(8)));
        Assert.Equal(new long[] { 2, 1 + (model.Spec.MaskTokensInEncoder ? l : l / 2), width }, output.Latent.shape);
        Assert.Equal(new float[] { l - l / 2, l - l / 2 }, output.Mask.sum(1).data<float>().ToArray());
        Assert.True(model.Unpatchify(model.Patchify(images)).allclose(images));

        string name = type.Name;
        var e = Assert.Throws<ShapeMismatchException>(() => model.forward(images, zeros(2, l / 2)));
        Assert.Equal($"{name}.forward: noise must be [2, {l}], got [2, {l / 2}]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => model.Encode(zeros(2, c + 1, size, size)));
        Assert.Equal($"{name}.Encode: images must be [B, {c}, {size}, {size}], got [2, {c + 1}, {size}, {size}]", e.Message);
    }

    [Fact]
    public void MaskTokensInEncoder_variant_trains_its_encoder_mask_token()
    {
        using var scope = NewDisposeScope();
        using var model = Create("Tests.Ablations.EncoderWithMaskTokensMae");
        var images = rand(new long[] { 2, 3, 32, 32 }, generator: new Generator(3));
        using var output = model.forward(images, rand(new long[] { 2, 16 }, generator: new Generator(4)));
        output.Loss.backward();
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(new long[] { 1, 1, 64 }, named["mask_token"].shape); // [1, 1, EncoderWidth]: it sits in the encoder
        Assert.NotNull(named["mask_token"].grad);
        Assert.True(named["mask_token"].grad!.abs().sum().item<float>() > 0);
        Assert.NotNull(named["blocks.0.attn.qkv.weight"].grad);
    }

    [Fact]
    public void Guards_throw_the_documented_messages_before_any_computation()
    {
        using var scope = NewDisposeScope();
        using var model = Create("Tests.Tiny.MaeTiny");
        var wrong = zeros(8, 1, 28, 28);
        var e = Assert.Throws<ShapeMismatchException>(() => model.forward(wrong));
        Assert.Equal("MaeTiny.forward: images must be [B, 3, 32, 32], got [8, 1, 28, 28]", e.Message);
        Assert.IsAssignableFrom<ArgumentException>(e);

        e = Assert.Throws<ShapeMismatchException>(() => model.forward(wrong, zeros(8, 16)));
        Assert.Equal("MaeTiny.forward: images must be [B, 3, 32, 32], got [8, 1, 28, 28]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => model.forward(zeros(8, 3, 32, 32), zeros(8, 15)));
        Assert.Equal("MaeTiny.forward: noise must be [8, 16], got [8, 15]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => model.forward(zeros(8, 3, 32, 32), zeros(4, 16)));
        Assert.Equal("MaeTiny.forward: noise must be [8, 16], got [4, 16]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => model.Encode(zeros(3, 32, 32)));
        Assert.Equal("MaeTiny.Encode: images must be [B, 3, 32, 32], got [3, 32, 32]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => model.Patchify(zeros(2, 3, 16, 16)));
        Assert.Equal("MaeTiny.Patchify: images must be [B, 3, 32, 32], got [2, 3, 16, 16]", e.Message);
        e = Assert.Throws<ShapeMismatchException>(() => model.Unpatchify(zeros(2, 16, 64)));
        Assert.Equal("MaeTiny.Unpatchify: patches must be [B, 16, 192], got [2, 16, 64]", e.Message);
    }

    /// <summary>One constructor, <c>X(long? seed = null, MaskingOverride? masking = null)</c>: the same seed gives the same weights.</summary>
    [Fact]
    public void The_one_constructor_is_deterministic_with_a_seed()
    {
        var type = Model("Tests.Tiny.MaeTiny");
        var constructor = Assert.Single(type.GetConstructors());
        Assert.Equal(new[] { typeof(long?), typeof(MaskingOverride) }, constructor.GetParameters().Select(p => p.ParameterType));
        Assert.All(constructor.GetParameters(), p => Assert.True(p.HasDefaultValue && p.DefaultValue is null));
        Assert.Null(type.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)); // no second way to build one
        Assert.Equal(typeof(MaskedAutoencoder), type.BaseType);
        Assert.DoesNotContain(type.GetInterfaces(), i => i.Namespace == "MaeDsl"); // no static interface beside the class
        using var a = Create("Tests.Tiny.MaeTiny", 5);
        using var b = Create("Tests.Tiny.MaeTiny", 5);
        using var c = Create("Tests.Tiny.MaeTiny", null);
        var pa = a.state_dict(); var pb = b.state_dict();
        Assert.All(pa.Keys, k => Assert.True(pa[k].equal(pb[k]).all().item<bool>(), k));
        Assert.Equal(pa.Keys, c.state_dict().Keys);
    }

    /// <summary>The presets of MaeDsl.dll (src/MaeDsl/Presets.cs) have the official parameter counts.</summary>
    [Fact]
    public void Presets_have_the_official_parameter_counts()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Reference", "param_counts.tsv");
        Assert.True(File.Exists(path), $"the reference file {path} is missing (a copy of tests/MaeDsl.Tests/Reference/param_counts.tsv)");
        var rows = File.ReadAllLines(path).Skip(1).Select(l => l.Split('\t')).ToDictionary(r => r[0], r => r);
        long Count(string model, int column) => long.Parse(rows[model][column], CultureInfo.InvariantCulture);

        long baseCount = Presets.MaeVitBase16.ParameterCount, largeCount = Presets.MaeVitLarge16.ParameterCount, hugeCount = Presets.MaeVitHuge14.ParameterCount;
        Assert.Equal(Count("mae_vit_base_patch16", 1), baseCount);
        Assert.Equal(Count("mae_vit_large_patch16", 1), largeCount);
        Assert.Equal(Count("mae_vit_huge_patch14", 1), hugeCount);
        Assert.Equal(111655680, Presets.MaeVitBase16.ParameterCount);
        Assert.Equal(329239296, Presets.MaeVitLarge16.ParameterCount);
        Assert.Equal(656613964, Presets.MaeVitHuge14.ParameterCount);

        // all state_dict elements = trainable + the frozen position embeddings
        Assert.Equal(Count("mae_vit_base_patch16", 2), Presets.MaeVitBase16.ParameterCount + Presets.MaeVitBase16.Specification.FrozenParameterCount);
        Assert.Equal(Count("mae_vit_huge_patch14", 2), Presets.MaeVitHuge14.ParameterCount + Presets.MaeVitHuge14.Specification.FrozenParameterCount);
        // the encoder a classifier inherits
        Assert.Equal(Count("mae_vit_large_patch16", 4), Presets.MaeVitLarge16.Specification.EncoderParameterCount);

        Assert.Equal((16, 256, 16, 80), (Presets.MaeVitHuge14.GridSize, Presets.MaeVitHuge14.NumPatches, Presets.MaeVitHuge14.EncoderHeads, Presets.MaeVitHuge14.EncoderWidth / Presets.MaeVitHuge14.EncoderHeads));
        Assert.Equal((12, 16, 16), (Presets.MaeVitBase16.EncoderHeads, Presets.MaeVitLarge16.EncoderHeads, Presets.MaeVitBase16.DecoderHeads));
    }

    /// <summary>The generated ViT-B/16 preset has the official state_dict names and shapes, so official checkpoints load.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void Base_preset_has_the_official_state_dict()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Reference", "mae_vit_base_patch16.keys.tsv");
        Assert.True(File.Exists(path), $"the reference file {path} is missing (a copy of tests/MaeDsl.Tests/Reference/mae_vit_base_patch16.keys.tsv)");
        var expected = File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => l.Split('\t')).ToDictionary(r => r[0], r => r[1]);

        using var model = new Presets.MaeVitBase16(seed: 0);
        var actual = model.state_dict().ToDictionary(kv => kv.Key, kv => string.Join("x", kv.Value.shape));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.All(expected, kv => Assert.Equal(kv.Value, actual[kv.Key]));
        long trainable = model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        Assert.Equal(Presets.MaeVitBase16.ParameterCount, trainable);
    }
}

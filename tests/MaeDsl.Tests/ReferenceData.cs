using MaeDsl.Checkpoints;

namespace MaeDsl.Tests;

/// <summary>
/// The committed copies of the official reference data (Reference/README.md says where they come from).
/// A missing file fails the test that needs it, with the path; nothing is skipped.
/// </summary>
public static class ReferenceData
{
    public const double ActivationTolerance = 1e-5;   // loss, pred, latent, logits: max |Δ|
    public const double GradientTolerance = 1e-4;     // gradients: max |Δ| / max |reference|

    public static string PathOf(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Reference", file);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Reference file missing: {path}. It is committed under tests/MaeDsl.Tests/Reference/ (copied from shared/reference); restore it from git.", path);
        return path;
    }

    /// <summary>The configuration of mae-tiny-official.safetensors (its __metadata__ "config").</summary>
    public static MaeSpec TinySpec { get; } = new(
        ImageSize: 32, PatchSize: 8, Channels: 3,
        EncoderDepth: 2, EncoderWidth: 64, EncoderHeads: 4, EncoderMlpRatio: 4, DropPath: 0,
        DecoderDepth: 1, DecoderWidth: 32, DecoderHeads: 4, DecoderMlpRatio: 4,
        MaskRatio: 0.75, Masking: MaskingStrategy.Random, MaskTokensInEncoder: false, NormalizePixels: false);

    static readonly Lazy<(Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata)> tiny =
        new(() => StateDicts.ReadSafetensors(PathOf("mae-tiny-official.safetensors")));

    /// <summary>All tensors of mae-tiny-official.safetensors (shared; do not dispose).</summary>
    public static IReadOnlyDictionary<string, Tensor> Tiny => tiny.Value.Tensors;
    public static IReadOnlyDictionary<string, string> TinyMetadata => tiny.Value.Metadata;

    /// <summary>The pre-training model's weights: the keys without an "input.", "expected." or "vit." prefix.</summary>
    public static Dictionary<string, Tensor> TinyModelWeights() =>
        Tiny.Where(kv => !kv.Key.StartsWith("input.") && !kv.Key.StartsWith("expected.") && !kv.Key.StartsWith("vit."))
            .ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>The fine-tune ViT's weights: the "vit." keys without the prefix.</summary>
    public static Dictionary<string, Tensor> TinyVitWeights() =>
        Tiny.Where(kv => kv.Key.StartsWith("vit.")).ToDictionary(kv => kv.Key["vit.".Length..], kv => kv.Value);

    /// <summary>Rows of a tab-separated reference file, header included.</summary>
    public static string[][] Tsv(string file) =>
        File.ReadAllLines(PathOf(file)).Where(l => l.Length > 0).Select(l => l.Split('\t')).ToArray();

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var d = (a.to(float64) - b.to(float64)).abs().max();
        return d.item<double>();
    }

    public static double RelativeMaxDiff(Tensor actual, Tensor reference)
    {
        using var scale = reference.abs().max();
        return MaxAbsDiff(actual, reference) / scale.item<float>();
    }
}

/// <summary>A hand-written MAE variant over any spec, for tests of the runtime without the generator.</summary>
public sealed class SpecMae(MaeSpec spec, long? seed = 0) : MaskedAutoencoder(nameof(SpecMae), spec, seed)
{
    public override MaeOutput forward(Tensor images) => ForwardCore(images, null);
    public override MaeOutput forward(Tensor images, Tensor noise) => ForwardCore(images, noise);
    public override Tensor Encode(Tensor images) => EncodeCore(images);
    public override Tensor Patchify(Tensor images) => PatchifyCore(images);
    public override Tensor Unpatchify(Tensor patches) => UnpatchifyCore(patches);
}

using MaeDsl;
using MaeDsl.Presets;
using static TorchSharp.torch;

namespace Quickstart;

/// <summary>
/// The quickstart's default model, declared with the DSL: 28×28 grey Fashion-MNIST in 4×4 patches (a 7×7 grid,
/// 49 patches, 12 visible at the paper's 75% masking), an encoder of 4 blocks × 64 (4 heads of 16) and a
/// decoder of 2 blocks × 64 (4 heads of 16). See README-quickstart.md for why this size.
/// </summary>
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
public partial class MaeFashionTiny;

// The paper's ablations on the tiny variant (docs/results.md's investigation), one attribute changed each;
// the mask ratio needs no class (--mask-ratio).

/// <summary><see cref="MaeFashionTiny"/> predicting per-patch normalised pixels (norm_pix_loss).</summary>
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
[Loss(NormalizePixels = true)]
public partial class MaeFashionTinyNormPix;

/// <summary><see cref="MaeFashionTiny"/> in 7×7 patches: a 4×4 grid of 16 patches, 4 visible at 75% masking.</summary>
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 2, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 7, Channels = 1)]
public partial class MaeFashionTinyPatch7;

/// <summary><see cref="MaeFashionTiny"/> with a one-block decoder.</summary>
[Encoder(Depth = 4, Width = 64, Heads = 4)]
[Decoder(Depth = 1, Width = 64, Heads = 4)]
[Image(Size = 28, PatchSize = 4, Channels = 1)]
public partial class MaeFashionTinyDecoder1;

/// <summary>A variant the user can pick on the command line.</summary>
public sealed record Variant(string Key, string ClassName, MaeSpec Spec, Func<long?, MaskedAutoencoder> Create, string Description)
{
    /// <summary>A model of this variant; a mask ratio other than the declared one builds the same architecture with that ratio.</summary>
    public MaskedAutoencoder Build(long seed, double? maskRatio)
    {
        if (maskRatio is null || maskRatio.Value == Spec.MaskRatio) return Create(seed);
        return new RatioOverride(ClassName, Spec with { MaskRatio = maskRatio.Value }, seed);
    }

    public MaeSpec SpecFor(double? maskRatio) => maskRatio is null ? Spec : Spec with { MaskRatio = maskRatio.Value };
}

/// <summary>A variant's architecture with a mask ratio given at run time (--mask-ratio), as main_pretrain.py allows.</summary>
sealed class RatioOverride(string name, MaeSpec spec, long seed) : MaskedAutoencoder(name, spec, seed)
{
    void Guard(Tensor images, string method) => ShapeGuard.RequireFloat(images, $"{GetName()}.{method}", "images", -1, Spec.Channels, Spec.ImageSize, Spec.ImageSize);
    public override MaeOutput forward(Tensor images) { Guard(images, "forward"); return ForwardCore(images, null); }
    public override MaeOutput forward(Tensor images, Tensor noise)
    {
        Guard(images, "forward");
        ShapeGuard.RequireFloat(noise, $"{GetName()}.forward", "noise", images.shape[0], Spec.NumPatches);
        return ForwardCore(images, noise);
    }
    public override Tensor Encode(Tensor images) { Guard(images, "Encode"); return EncodeCore(images); }
    public override Tensor Patchify(Tensor images) { Guard(images, "Patchify"); return PatchifyCore(images); }
    public override Tensor Unpatchify(Tensor patches) => UnpatchifyCore(patches);
}

public static class Variants
{
    public static IReadOnlyList<Variant> All { get; } =
    [
        Of<MaeFashionTiny>("tiny", "the quickstart's small MAE for 28×28 Fashion-MNIST (default)"),
        Of<MaeFashionTinyNormPix>("tiny-normpix", "tiny with norm_pix_loss"),
        Of<MaeFashionTinyPatch7>("tiny-patch7", "tiny in 7×7 patches (16)"),
        Of<MaeFashionTinyDecoder1>("tiny-decoder1", "tiny with a 1-block decoder"),
        Of<MaeVitBase16>("vit-b16", "official mae_vit_base_patch16 (224×224 RGB)"),
        Of<MaeVitLarge16>("vit-l16", "official mae_vit_large_patch16 (224×224 RGB)"),
        Of<MaeVitHuge14>("vit-h14", "official mae_vit_huge_patch14 (224×224 RGB)"),
    ];

    static Variant Of<T>(string key, string description) where T : MaskedAutoencoder, IMaskedAutoencoder<T> =>
        new(key, typeof(T).Name, T.Specification, seed => T.Create(seed), description);

    public static Variant Find(string key) =>
        All.FirstOrDefault(v => string.Equals(v.Key, key, StringComparison.OrdinalIgnoreCase) || string.Equals(v.ClassName, key, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown variant '{key}': choose one of {string.Join(", ", All.Select(v => v.Key))}");
}

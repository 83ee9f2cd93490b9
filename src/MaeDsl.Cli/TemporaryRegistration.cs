// TEMPORARY, until the generator registers models (branch `registry`): hand registration of the presets and a helper
// for applications to register theirs, with a run-time masking override built on the base class. Deleted at the merge.
using System.Runtime.CompilerServices;
using MaeDsl.Presets;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>Hand registration of DSL models (temporary: the generator does this once `registry` is merged).</summary>
public static class TemporaryRegistration
{
#pragma warning disable CA2255 // a library module initializer: exactly what the generator will emit
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterPresets() => MaeModels.Register(
    [
        Of<MaeVitBase16>("vit-b16", "official mae_vit_base_patch16 (224×224 RGB)"),
        Of<MaeVitLarge16>("vit-l16", "official mae_vit_large_patch16 (224×224 RGB)"),
        Of<MaeVitHuge14>("vit-h14", "official mae_vit_huge_patch14 (224×224 RGB)"),
    ]);

    /// <summary>A registry entry for <typeparamref name="T"/>.</summary>
    public static MaeModelInfo Of<T>(string key, string description, bool isDefault = false) where T : MaskedAutoencoder, IMaskedAutoencoder<T> =>
        new(key, typeof(T).Name, typeof(T).FullName!, description, T.Specification, isDefault, typeof(T).Assembly,
            (seed, masking) => masking is null ? T.Create(seed) : new RatioOverride(typeof(T).Name, masking.ApplyTo(T.Specification), seed));

    sealed class RatioOverride(string name, MaeSpec spec, long? seed) : MaskedAutoencoder(name, spec, seed)
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
}

// ReconstructionLoss: the MAE loss, MSE on the removed patches (optionally per-patch normalised targets).
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>The MAE loss: mean squared error per patch, averaged over the removed patches only.</summary>
internal static class ReconstructionLoss
{
    /// <summary>
    /// target [B, L, p²C] (patchified images), pred [B, L, p²C], mask [B, L] (1 = removed) → scalar.
    /// With <paramref name="normalizePixels"/> the target is each patch normalised by its own mean and
    /// unbiased variance: (x − mean) / sqrt(var + 1e-6), the official norm_pix_loss.
    /// </summary>
    public static Tensor Compute(Tensor target, Tensor pred, Tensor mask, bool normalizePixels)
    {
        using var scope = NewDisposeScope();
        if (normalizePixels) target = NormalizePatches(target);
        var perPatch = (pred - target).pow(2).mean([-1]);                // [B, L]
        var loss = (perPatch * mask).sum() / mask.sum();
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>(x − mean) / sqrt(var + 1e-6) over the last dimension, with the unbiased variance.</summary>
    public static Tensor NormalizePatches(Tensor patches)
    {
        using var scope = NewDisposeScope();
        var mean = patches.mean([-1], keepdim: true);
        var variance = MetaSubstitutes.UnbiasedVariance(patches);
        return ((patches - mean) / (variance + MaeSpec.NormPixEps).sqrt()).MoveToOuterDisposeScope();
    }
}

// Patches: patchify / unpatchify ([B, C, H, W] <-> [B, L, p*p*C]).
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>
/// Images to patch vectors and back, in the official element order: within a patch,
/// row-in-patch, then column-in-patch, then channel (models_mae.py's 'nchpwq->nhwpqc'), for any channel count.
/// </summary>
internal static class Patches
{
    /// <summary>[B, C, H, W] → [B, L, p²·C] with L = (H/p)·(W/p).</summary>
    public static Tensor Patchify(Tensor images, int patchSize)
    {
        long b = images.shape[0], c = images.shape[1], h = images.shape[2] / patchSize, w = images.shape[3] / patchSize;
        using var grid = images.reshape(b, c, h, patchSize, w, patchSize);   // n c h p w q
        using var ordered = grid.permute(0, 2, 4, 3, 5, 1);                  // n h w p q c
        return ordered.reshape(b, h * w, (long)patchSize * patchSize * c);
    }

    /// <summary>[B, L, p²·C] → [B, C, H, W] for a square grid of L patches.</summary>
    public static Tensor Unpatchify(Tensor patches, int patchSize, int channels)
    {
        long b = patches.shape[0], g = (long)Math.Round(Math.Sqrt(patches.shape[1]));
        if (g * g != patches.shape[1])
            throw new ArgumentException($"Unpatchify: patches must form a square grid, got L = {patches.shape[1]}", nameof(patches));
        if (patches.shape[2] != (long)patchSize * patchSize * channels)
            throw new ArgumentException(
                $"Unpatchify: patches must be [B, L, {patchSize * patchSize * channels}] for patch size {patchSize} and {channels} channels, got " +
                $"[{string.Join(", ", patches.shape)}]", nameof(patches));
        using var grid = patches.reshape(b, g, g, patchSize, patchSize, channels);   // n h w p q c
        using var ordered = grid.permute(0, 5, 1, 3, 2, 4);                          // n c h p w q
        return ordered.reshape(b, channels, g * patchSize, g * patchSize);
    }
}

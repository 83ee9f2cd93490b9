// PosEmbedInterpolation: the official interpolate_pos_embed for a classifier of another image size.
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>
/// The official <c>util/pos_embed.interpolate_pos_embed</c>: when a checkpoint's position embedding was learned
/// for another grid (fine-tuning at a larger image size than pre-training), the patch entries are resized with
/// bicubic interpolation (align_corners false) over the 2-D grid; the extra (cls) entries are kept unchanged.
/// At the same grid size the embedding is returned unchanged.
/// </summary>
internal static class PosEmbedInterpolation
{
    /// <summary>
    /// Resizes <paramref name="posEmbed"/> [1, extra + g², W] to [1, extra + newGrid², W].
    /// Returns the same tensor when g == <paramref name="newGridSize"/>.
    /// </summary>
    public static Tensor Interpolate(Tensor posEmbed, int newGridSize, int extraTokens = 1)
    {
        if (posEmbed.dim() != 3 || posEmbed.shape[0] != 1)
            throw new ArgumentException($"PosEmbedInterpolation: pos_embed must be [1, {extraTokens} + L, W], got [{string.Join(", ", posEmbed.shape)}].",
                nameof(posEmbed));
        if (newGridSize < 1) throw new ArgumentOutOfRangeException(nameof(newGridSize), newGridSize, "PosEmbedInterpolation: the new grid size must be ≥ 1.");
        if (extraTokens < 0 || extraTokens > posEmbed.shape[1]) throw new ArgumentOutOfRangeException(nameof(extraTokens), extraTokens,
            $"PosEmbedInterpolation: extra tokens must be in [0, {posEmbed.shape[1]}].");
        long patches = posEmbed.shape[1] - extraTokens, width = posEmbed.shape[2];
        int oldGrid = (int)Math.Round(Math.Sqrt(patches));
        if ((long)oldGrid * oldGrid != patches)
            throw new ArgumentException(
                $"PosEmbedInterpolation: pos_embed has {patches} patch entries after {extraTokens} extra token(s), which is not a square grid.",
                nameof(posEmbed));
        if (oldGrid == newGridSize) return posEmbed;

        using var scope = torch.NewDisposeScope();
        var extra = posEmbed.narrow(1, 0, extraTokens);
        var grid = posEmbed.narrow(1, extraTokens, patches).reshape(1, oldGrid, oldGrid, width).permute(0, 3, 1, 2);
        var resized = nn.functional.interpolate(grid.to(ScalarType.Float32), size: new long[] { newGridSize, newGridSize },
            mode: InterpolationMode.Bicubic, align_corners: false).to(posEmbed.dtype);
        var tokens = resized.permute(0, 2, 3, 1).flatten(1, 2);
        return torch.cat(new[] { extra, tokens }, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Replaces <c>pos_embed</c> in a checkpoint's state dict by its interpolation to <paramref name="newGridSize"/>
    /// (nothing happens when the key is absent or the size already matches). Returns true when it resized.
    /// </summary>
    public static bool InterpolateInStateDict(IDictionary<string, Tensor> checkpoint, int newGridSize, int extraTokens = 1, Action<string>? log = null)
    {
        if (!checkpoint.TryGetValue("pos_embed", out var pos)) return false;
        var resized = Interpolate(pos, newGridSize, extraTokens);
        if (ReferenceEquals(resized, pos)) return false;
        int oldGrid = (int)Math.Round(Math.Sqrt(pos.shape[1] - extraTokens));
        log?.Invoke($"Position interpolate from {oldGrid}x{oldGrid} to {newGridSize}x{newGridSize}");
        checkpoint["pos_embed"] = resized;
        return true;
    }
}

// ReconstructionGrid: the PNG of original | masked input | reconstruction | reconstruction with visible patches pasted.
using MaeDsl.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

using MaeDsl.IO;
using MaeDsl.Native;

namespace MaeDsl.Visualization;

/// <summary>The four pictures of each row of a reconstruction grid, un-normalised to [0, 1] (float CHW).</summary>
/// <param name="Original">The input image.</param>
/// <param name="Masked">The input with removed patches set to <see cref="ReconstructionGrid.Grey"/>.</param>
/// <param name="Reconstruction">The prediction for every patch (restored with each patch's mean/var under NormalizePixels).</param>
/// <param name="Pasted">The reconstruction with the visible patches of the original pasted back.</param>
internal sealed record ReconstructionRow(FloatImage Original, FloatImage Masked, FloatImage Reconstruction, FloatImage Pasted);

/// <summary>
/// Reconstruction grids as in the official demo (demo/mae_visualize.ipynb): one row per image and four columns,
/// original | masked input (removed patches grey) | reconstruction | reconstruction with the visible patches pasted back.
/// </summary>
/// <remarks>
/// Inputs are what the model sees and returns: <c>images</c> [N, C, H, W] normalised with (mean, std),
/// <c>pred</c> [N, L, p²C] in the official patch order (row-in-patch, column-in-patch, channel; see
/// <see cref="Patches"/>), <c>mask</c> [N, L] with 1 = removed. Everything is un-normalised (x·std + mean) and
/// clipped to [0, 1] before it is drawn. With NormalizePixels the model predicts each target patch normalised
/// by its own statistics, <c>(x − mean) / sqrt(var + 1e−6)</c> with the unbiased variance over the patch's p²C
/// values (as the loss computes it); the prediction is restored with the statistics of the corresponding patch
/// of the input, <c>pred · sqrt(var + 1e−6) + mean</c>, and the file name and PNG caption say so.
/// </remarks>
internal static class ReconstructionGrid
{
    /// <summary>The grey of removed patches in the masked-input column, in [0, 1].</summary>
    public const float Grey = 0.5f;
    /// <summary>Separator width in output pixels.</summary>
    public const int Separator = 2;
    /// <summary>The separator colour.</summary>
    public static readonly Rgb24 SeparatorColor = new(255, 255, 255);
    /// <summary>What the columns are, written as the PNG's Description text.</summary>
    public const string ColumnsCaption = "columns: original | masked input (removed patches grey) | reconstruction | reconstruction with visible patches " +
        "pasted back";
    /// <summary>Added to the caption (and, as <c>-normpix-restored</c>, to the file name) with NormalizePixels.</summary>
    public const string NormPixCaption = "NormalizePixels: the prediction is restored with each patch's own mean and unbiased variance, " +
        "pred*sqrt(var+1e-6)+mean";

    /// <summary>Computes the four pictures of every row (no file is written).</summary>
    /// <param name="images">[N, C, H, W] normalised input images (H = W, multiples of the patch size).</param>
    /// <param name="pred">[N, L, p²C] the decoder's prediction.</param>
    /// <param name="mask">[N, L] 1 = removed, 0 = visible.</param>
    /// <param name="patchSize">p.</param>
    /// <param name="channels">C.</param>
    /// <param name="mean">Normalisation mean per channel (or one value for all).</param>
    /// <param name="std">Normalisation std per channel (or one value for all).</param>
    /// <param name="normPix">The model was trained with NormalizePixels.</param>
    public static IReadOnlyList<ReconstructionRow> Compute(Tensor images, Tensor pred, Tensor mask, int patchSize, int channels,
        IReadOnlyList<float> mean, IReadOnlyList<float> std, bool normPix)
    {
        return NoGcDuringTorch.Run(() =>
        {
            Validate(images, pred, mask, patchSize, channels, mean, std);
            long n = images.shape[0], h = images.shape[2], w = images.shape[3];
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var x = images.detach().to(ScalarType.Float32, torch.CPU);
            var y = pred.detach().to(ScalarType.Float32, torch.CPU);
            if (normPix)
            {
                var target = Patches.Patchify(x, patchSize);
                var patchMean = target.mean([-1], keepdim: true);
                var patchVar = target.var(-1, unbiased: true, keepdim: true);
                y = y * (patchVar + MaeSpec.NormPixEps).sqrt() + patchMean;
            }
            var reconstruction = Patches.Unpatchify(y, patchSize, channels);
            long d = (long)patchSize * patchSize * channels;
            var removed = Patches.Unpatchify(mask.detach().to(ScalarType.Float32, torch.CPU).unsqueeze(-1).repeat(1, 1, d), patchSize, channels);
            var pasted = x * (1 - removed) + reconstruction * removed;

            var m = torch.tensor(Expand(mean, channels)).reshape(1, channels, 1, 1);
            var s = torch.tensor(Expand(std, channels)).reshape(1, channels, 1, 1);
            Tensor Pixels(Tensor t) => (t * s + m).clamp(0, 1).contiguous();
            var original = Pixels(x);
            var masked = original * (1 - removed) + removed * Grey;
            var columns = new[] { original, masked.contiguous(), Pixels(reconstruction), Pixels(pasted) }
                .Select(t => t.data<float>().ToArray()).ToArray();

            int size = (int)(channels * h * w);
            var rows = new ReconstructionRow[n];
            for (int i = 0; i < n; i++)
            {
                FloatImage Take(float[] all) => new(channels, (int)h, (int)w, all.AsSpan(i * size, size).ToArray());
                rows[i] = new ReconstructionRow(Take(columns[0]), Take(columns[1]), Take(columns[2]), Take(columns[3]));
            }
            return rows;
        });
    }

    /// <summary>
    /// Writes the grid as a PNG (atomically: temporary file, then rename) and returns the path written. Small images
    /// are enlarged by nearest neighbour (<paramref name="scale"/>, 0 = enough to make tiles ≥ 112 px), tiles are
    /// separated by <see cref="Separator"/>-pixel white lines. With <paramref name="normPix"/> the file name gets
    /// <c>-normpix-restored</c> before its extension unless it already mentions "normpix".
    /// </summary>
    public static string Save(string path, Tensor images, Tensor pred, Tensor mask, int patchSize, int channels,
        IReadOnlyList<float> mean, IReadOnlyList<float> std, bool normPix, int scale = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), $"ReconstructionGrid.Save: can draw 1 (grey) or 3 (RGB) channels, got {channels}.");
        var rows = Compute(images, pred, mask, patchSize, channels, mean, std, normPix);
        if (normPix && !Path.GetFileName(path).Contains("normpix", StringComparison.OrdinalIgnoreCase))
            path = Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + "-normpix-restored" + Path.GetExtension(path));
        using var picture = Draw(rows, scale);
        var caption = normPix ? ColumnsCaption + "; " + NormPixCaption : ColumnsCaption;
        picture.Metadata.GetPngMetadata().TextData.Add(new PngTextData("Description", caption, "", ""));
        AtomicFile.Write(path, stream => picture.SaveAsPng(stream, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 }));
        return Path.GetFullPath(path);
    }

    /// <summary>
    /// Convenience for a training runner: the grid of a forward pass, patch size, channels and NormalizePixels taken
    /// from <paramref name="spec"/>. <paramref name="images"/> are the normalised inputs of that pass.
    /// </summary>
    public static string Save(string path, Tensor images, MaeOutput output, MaeSpec spec, Normalization normalization, int scale = 0)
    {
        ArgumentNullException.ThrowIfNull(output); ArgumentNullException.ThrowIfNull(spec); ArgumentNullException.ThrowIfNull(normalization);
        return Save(path, images, output.Pred, output.Mask, spec.PatchSize, spec.Channels, normalization.Mean, normalization.Std, spec.NormalizePixels, scale);
    }

    /// <summary>The tile scale used for images of side <paramref name="side"/> when <c>scale</c> is 0.</summary>
    public static int AutoScale(int side) => Math.Max(1, (int)Math.Ceiling(112.0 / side));

    /// <summary>Lays out the rows: N rows × 4 columns of tiles, separators around and between tiles.</summary>
    public static Image<Rgb24> Draw(IReadOnlyList<ReconstructionRow> rows, int scale = 0)
    {
        if (rows.Count == 0) throw new ArgumentException("ReconstructionGrid: no rows to draw.", nameof(rows));
        var first = rows[0].Original;
        if (scale < 0) throw new ArgumentOutOfRangeException(nameof(scale), $"ReconstructionGrid: scale must be ≥ 0 (0 = automatic), got {scale}.");
        if (scale == 0) scale = AutoScale(Math.Max(first.Height, first.Width));
        int th = first.Height * scale, tw = first.Width * scale;
        int width = 4 * tw + 5 * Separator, height = rows.Count * th + (rows.Count + 1) * Separator;
        var picture = new Image<Rgb24>(width, height, SeparatorColor);
        for (int r = 0; r < rows.Count; r++)
        {
            var tiles = new[] { rows[r].Original, rows[r].Masked, rows[r].Reconstruction, rows[r].Pasted };
            for (int col = 0; col < 4; col++)
                Blit(picture, tiles[col], Separator + col * (tw + Separator), Separator + r * (th + Separator), scale);
        }
        return picture;
    }

    /// <summary>The 8-bit value of an intensity in [0, 1].</summary>
    public static byte ToByte(float v) => (byte)Math.Round(Math.Clamp(v, 0f, 1f) * 255f, MidpointRounding.AwayFromZero);

    internal static void Blit(Image<Rgb24> picture, FloatImage tile, int left, int top, int scale)
    {
        picture.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < tile.Height * scale; y++)
            {
                var row = accessor.GetRowSpan(top + y);
                int sy = y / scale;
                for (int x = 0; x < tile.Width * scale; x++)
                {
                    int sx = x / scale;
                    row[left + x] = tile.Channels == 1
                        ? new Rgb24(ToByte(tile[0, sy, sx]), ToByte(tile[0, sy, sx]), ToByte(tile[0, sy, sx]))
                        : new Rgb24(ToByte(tile[0, sy, sx]), ToByte(tile[1, sy, sx]), ToByte(tile[2, sy, sx]));
                }
            }
        });
    }

    static float[] Expand(IReadOnlyList<float> values, int channels)
        => values.Count == 1 ? Enumerable.Repeat(values[0], channels).ToArray() : values.ToArray();

    static void Validate(Tensor images, Tensor pred, Tensor mask, int patchSize, int channels, IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
        if (patchSize <= 0) throw new ArgumentOutOfRangeException(nameof(patchSize), $"ReconstructionGrid: patchSize must be positive, got {patchSize}.");
        if (images.dim() != 4 || images.shape[1] != channels || images.shape[2] != images.shape[3] || images.shape[2] % patchSize != 0)
            throw new ArgumentException(
                $"ReconstructionGrid: images must be [N, {channels}, H, H] with H a multiple of the patch size {patchSize}, got {Shape(images)}.",
                nameof(images));
        long n = images.shape[0], l = (images.shape[2] / patchSize) * (images.shape[3] / patchSize), d = (long)patchSize * patchSize * channels;
        if (pred.dim() != 3 || pred.shape[0] != n || pred.shape[1] != l || pred.shape[2] != d)
            throw new ArgumentException($"ReconstructionGrid: pred must be [{n}, {l}, {d}] (N, L, p²C), got {Shape(pred)}.", nameof(pred));
        if (mask.dim() != 2 || mask.shape[0] != n || mask.shape[1] != l)
            throw new ArgumentException($"ReconstructionGrid: mask must be [{n}, {l}] (1 = removed), got {Shape(mask)}.", nameof(mask));
        if (mean.Count != 1 && mean.Count != channels || std.Count != mean.Count)
            throw new ArgumentException($"ReconstructionGrid: mean and std need 1 or {channels} values each, got {mean.Count} and {std.Count}.", nameof(mean));
    }
}

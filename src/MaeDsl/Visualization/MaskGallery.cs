// MaskGallery: the paper's Fig. 6 for a model: the same images under each mask sampling (random, block, grid), the
// removed patches grey.
using MaeDsl.Data;
using MaeDsl.IO;
using MaeDsl.Native;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace MaeDsl.Visualization;

/// <summary>One row per image: the original, then the image as the encoder sees it under each strategy.</summary>
internal static class MaskGallery
{
    /// <summary>Draws <paramref name="images"/> ([N, C, H, W], normalised with <paramref name="normalization"/>) masked by each of
    /// <paramref name="specs"/> (the masks drawn from <paramref name="seed"/>), writes the PNG atomically and returns its full path.</summary>
    public static string Save(string path, Tensor images, IReadOnlyList<MaeSpec> specs, Normalization normalization, long seed, int scale = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (specs.Count == 0) throw new ArgumentException("MaskGallery: no masking to draw.", nameof(specs));
        var first = specs[0];
        long n = images.shape[0];
        var columns = new List<IReadOnlyList<ReconstructionRow>>();
        NoGcDuringTorch.Run(() =>
        {
            using var scope = NewDisposeScope();
            var generator = new TorchSharp.torch.Generator((ulong)seed);
            var pred = zeros(n, first.NumPatches, first.PatchDim);
            foreach (var spec in specs)
            {
                // the official random_masking: the patches with the smallest noise are kept
                var noise = Masking.DrawNoise(spec, n, generator);
                var order = noise.argsort(1);
                var mask = ones(n, spec.NumPatches).scatter_(1, order[.., ..spec.VisibleCount], zeros(n, spec.VisibleCount));
                columns.Add(ReconstructionGrid.Compute(images, pred, mask, spec.PatchSize, spec.Channels, normalization.Mean, normalization.Std,
                    normPix: false));
            }
        });
        var tileOf = columns[0][0].Original;
        if (scale == 0) scale = ReconstructionGrid.AutoScale(Math.Max(tileOf.Height, tileOf.Width));
        int sep = ReconstructionGrid.Separator, th = tileOf.Height * scale, tw = tileOf.Width * scale, cols = 1 + specs.Count;
        using var picture = new Image<Rgb24>(cols * tw + (cols + 1) * sep, (int)n * th + ((int)n + 1) * sep, ReconstructionGrid.SeparatorColor);
        for (int r = 0; r < n; r++)
        {
            ReconstructionGrid.Blit(picture, columns[0][r].Original, sep, sep + r * (th + sep), scale);
            for (int c = 0; c < specs.Count; c++)
                ReconstructionGrid.Blit(picture, columns[c][r].Masked, sep + (c + 1) * (tw + sep), sep + r * (th + sep), scale);
        }
        string caption = "columns: original | " + string.Join(" | ", specs.Select(s =>
            FormattableString.Invariant($"{s.Masking.ToString().ToLowerInvariant()} {s.MaskRatio:0.##} ({s.VisibleCount} of {s.NumPatches} visible)")));
        picture.Metadata.GetPngMetadata().TextData.Add(new PngTextData("Description", caption, "", ""));
        AtomicFile.Write(path, stream => picture.SaveAsPng(stream, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 }));
        return Path.GetFullPath(path);
    }
}

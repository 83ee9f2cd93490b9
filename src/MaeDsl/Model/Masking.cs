// Masking: the random, block and grid masking of the patch tokens, and its noise.
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>
/// Which patches the encoder sees. Every strategy is expressed as per-patch noise [B, L]: the official
/// <c>random_masking</c> keeps the <c>len_keep</c> patches with the smallest noise. Random masking draws
/// U(0, 1); block and grid masking draw a mask first and turn it into noise (kept patches below 0.5,
/// removed ones above), so one gather path serves all three and a caller can always pass noise.
/// </summary>
internal static class Masking
{
    /// <summary>Per-patch noise [B, L] (float32) for the spec's strategy and ratio, drawn from <paramref name="generator"/>.</summary>
    public static Tensor DrawNoise(MaeSpec spec, long batch, Generator? generator)
    {
        int l = spec.NumPatches;
        if (spec.Masking == MaskingStrategy.Random)
            return rand([batch, l], generator: generator);

        int removed = spec.MaskedCount;
        var masks = new float[batch * l];
        using var seeds = randint(0, int.MaxValue, [batch], dtype: int64, generator: generator);
        var seedValues = seeds.data<long>().ToArray();
        for (int i = 0; i < batch; i++)
        {
            var rng = new Random((int)seedValues[i]);
            bool[] mask = spec.Masking == MaskingStrategy.Block ? BlockMask(spec.GridSize, removed, rng) : GridMask(spec.GridSize);
            for (int j = 0; j < l; j++) masks[i * l + j] = mask[j] ? 1f : 0f;
        }
        using var maskTensor = tensor(masks, [batch, l]);
        using var jitter = rand([batch, l], generator: generator);
        return maskTensor + jitter.mul_(0.5);      // kept in [0, 0.5), removed in [1, 1.5)
    }

    /// <summary>
    /// BEiT's block-wise masking on a g×g grid, removing exactly <paramref name="removed"/> patches
    /// (true = removed): rectangles of area U[min(16, remaining), remaining] and aspect ratio
    /// log-uniform in [0.3, 1/0.3] at random positions, up to 10 attempts per block; when no attempt
    /// adds a patch, random patches top the mask up (this also covers grids too small for blocks).
    /// </summary>
    /// <param name="blocks">When given, receives each placed rectangle (top, left, height, width), before the top-up.</param>
    public static bool[] BlockMask(int gridSize, int removed, Random rng, List<(int Top, int Left, int Height, int Width)>? blocks = null)
    {
        var mask = new bool[gridSize * gridSize];
        int count = 0;
        double logMin = Math.Log(0.3), logMax = Math.Log(1 / 0.3);
        while (count < removed)
        {
            int remaining = removed - count, added = 0;
            for (int attempt = 0; attempt < 10 && added == 0; attempt++)
            {
                double minArea = Math.Min(16, remaining);
                double area = minArea + rng.NextDouble() * (remaining - minArea);
                double aspect = Math.Exp(logMin + rng.NextDouble() * (logMax - logMin));
                int h = (int)Math.Round(Math.Sqrt(area * aspect)), w = (int)Math.Round(Math.Sqrt(area / aspect));
                if (h >= gridSize || w >= gridSize || h == 0 || w == 0) continue;
                int top = rng.Next(0, gridSize - h + 1), left = rng.Next(0, gridSize - w + 1);
                int fresh = 0;
                for (int r = top; r < top + h; r++)
                    for (int c = left; c < left + w; c++)
                        if (!mask[r * gridSize + c]) fresh++;
                if (fresh == 0 || fresh > remaining) continue;
                for (int r = top; r < top + h; r++)
                    for (int c = left; c < left + w; c++)
                        mask[r * gridSize + c] = true;
                added = fresh;
                blocks?.Add((top, left, h, w));
            }
            if (added == 0) break;
            count += added;
        }
        // Top up with random patches so that exactly `removed` are masked.
        var free = Enumerable.Range(0, mask.Length).Where(i => !mask[i]).ToArray();
        for (int i = 0; count < removed; i++, count++)
        {
            int j = rng.Next(i, free.Length);
            (free[i], free[j]) = (free[j], free[i]);
            mask[free[i]] = true;
        }
        return mask;
    }

    /// <summary>Grid masking: keeps the top-left patch of every 2×2 cell, removes the other three (true = removed).</summary>
    public static bool[] GridMask(int gridSize)
    {
        var mask = new bool[gridSize * gridSize];
        for (int r = 0; r < gridSize; r++)
            for (int c = 0; c < gridSize; c++)
                mask[r * gridSize + c] = r % 2 != 0 || c % 2 != 0;
        return mask;
    }

    /// <summary>
    /// The official random_masking given the noise: keeps the <paramref name="keep"/> tokens with the
    /// smallest noise. Returns the kept tokens [B, keep, D], the mask [B, L] (1 = removed, in the
    /// original patch order) and ids_restore [B, L] (int64), which unshuffles.
    /// </summary>
    public static (Tensor Kept, Tensor Mask, Tensor IdsRestore) Apply(Tensor tokens, Tensor noise, int keep)
    {
        using var scope = NewDisposeScope();
        long b = tokens.shape[0], l = tokens.shape[1], d = tokens.shape[2];
        noise = Devices.To(noise, tokens.device);                                 // drawn on the CPU (its generator's device)
        var idsShuffle = noise.argsort(dim: 1);                                   // ascending: small is kept
        var idsRestore = idsShuffle.argsort(dim: 1);
        var idsKeep = idsShuffle[.., ..keep];
        var kept = tokens.gather(1, idsKeep.unsqueeze(-1).expand(b, keep, d));   // [B, keep, D]
        var mask = ones([b, l], dtype: tokens.dtype, device: tokens.device);
        mask[.., ..keep] = 0;
        mask = mask.gather(1, idsRestore);                                        // [B, L], 1 = removed
        return (kept.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope(), idsRestore.MoveToOuterDisposeScope());
    }
}

// Transforms: the per-image transforms (RandomResizedCrop, flip, resize, centre crop, normalise) and their compositions.
namespace MaeDsl.Data;

/// <summary>A per-item image transform on float CHW images.</summary>
public interface IImageTransform
{
    /// <summary>
    /// Transforms <paramref name="image"/> (the input may be returned as is; callers must not rely on it being unchanged).
    /// <paramref name="random"/> is the item's own generator (<c>Seeds.Random(seed, Streams.Augment, epoch, index)</c> in
    /// the <see cref="BatchLoader"/>); a transform draws from it in a fixed order so the result depends only on (seed, epoch, index).
    /// </summary>
    FloatImage Apply(FloatImage image, Random random);
}

/// <summary>A crop box in pixels.</summary>
internal readonly record struct CropBox(int Top, int Left, int Height, int Width);

/// <summary>
/// torchvision's <c>RandomResizedCrop</c>: up to 10 tries of an area fraction uniform in <see cref="Scale"/> and
/// an aspect ratio (w/h) log-uniform in <see cref="Ratio"/>, rounded to whole pixels (round half to even, like
/// Python); the first that fits is placed uniformly. If none fits, torchvision's fallback: a centre crop of the
/// whole image with its aspect ratio clamped to the ratio range. The crop is resized to
/// <see cref="Size"/>×<see cref="Size"/> with PIL's bicubic (<see cref="Bicubic"/>).
/// </summary>
internal sealed class RandomResizedCrop : IImageTransform
{
    /// <param name="size">Output side in pixels.</param>
    /// <param name="minScale">Lower end of the area fraction (0.2 for MAE pre-training, 0.08 torchvision's default / linear probe).</param>
    /// <param name="maxScale">Upper end of the area fraction.</param>
    /// <param name="minRatio">Lower end of the aspect ratio w/h (3/4).</param>
    /// <param name="maxRatio">Upper end of the aspect ratio w/h (4/3).</param>
    public RandomResizedCrop(int size, double minScale = 0.2, double maxScale = 1.0, double minRatio = 3.0 / 4.0, double maxRatio = 4.0 / 3.0)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"RandomResizedCrop: size must be positive, got {size}.");
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1))
            throw new ArgumentOutOfRangeException(nameof(minScale), $"RandomResizedCrop: scale must satisfy 0 < min ≤ max ≤ 1, got ({minScale}, {maxScale}).");
        if (!(minRatio > 0 && minRatio <= maxRatio))
            throw new ArgumentOutOfRangeException(nameof(minRatio), $"RandomResizedCrop: ratio must satisfy 0 < min ≤ max, got ({minRatio}, {maxRatio}).");
        Size = size; Scale = (minScale, maxScale); Ratio = (minRatio, maxRatio);
    }

    public int Size { get; }
    public (double Min, double Max) Scale { get; }
    public (double Min, double Max) Ratio { get; }

    /// <summary>torchvision's <c>get_params</c>: the crop box for an image of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public CropBox GetParams(int height, int width, Random random) => GetParams(height, width, random, out _);

    /// <summary>As <see cref="GetParams(int, int, Random)"/>; <paramref name="fallback"/> tells whether the 10 tries failed.</summary>
    public CropBox GetParams(int height, int width, Random random, out bool fallback)
    {
        double area = (double)height * width;
        double logMin = Math.Log(Ratio.Min), logMax = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double targetArea = area * (Scale.Min + (Scale.Max - Scale.Min) * random.NextDouble());
            double aspect = Math.Exp(logMin + (logMax - logMin) * random.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (0 < w && w <= width && 0 < h && h <= height)
            {
                int top = random.Next(0, height - h + 1);
                int left = random.Next(0, width - w + 1);
                fallback = false;
                return new CropBox(top, left, h, w);
            }
        }
        fallback = true;
        double inRatio = (double)width / height;
        int cw, chh;
        if (inRatio < Ratio.Min) { cw = width; chh = (int)Math.Round(cw / Ratio.Min, MidpointRounding.ToEven); }
        else if (inRatio > Ratio.Max) { chh = height; cw = (int)Math.Round(chh * Ratio.Max, MidpointRounding.ToEven); }
        else { cw = width; chh = height; }
        return new CropBox((height - chh) / 2, (width - cw) / 2, chh, cw);
    }

    public FloatImage Apply(FloatImage image, Random random)
    {
        var box = GetParams(image.Height, image.Width, random);
        return Bicubic.ResizedCrop(image, box.Top, box.Left, box.Height, box.Width, Size, Size);
    }
}

/// <summary>Mirrors left-right with probability <see cref="P"/> (one draw per item).</summary>
internal sealed class RandomHorizontalFlip(double p = 0.5) : IImageTransform
{
    public double P { get; } = p is >= 0 and <= 1 ? p : throw new ArgumentOutOfRangeException(nameof(p),
        $"RandomHorizontalFlip: p must be in [0, 1], got {p}.");

    public FloatImage Apply(FloatImage image, Random random)
    {
        if (!(random.NextDouble() < P)) return image;
        var result = new FloatImage(image.Channels, image.Height, image.Width);
        for (int c = 0; c < image.Channels; c++)
            for (int y = 0; y < image.Height; y++)
            {
                int row = (c * image.Height + y) * image.Width;
                for (int x = 0; x < image.Width; x++) result.Data[row + x] = image.Data[row + image.Width - 1 - x];
            }
        return result;
    }
}

/// <summary>torchvision's <c>Resize(size)</c> with an int: the shorter side becomes <see cref="Size"/>, the longer
/// <c>int(Size × long / short)</c>; PIL bicubic.</summary>
internal sealed class ResizeShorterSide(int size) : IImageTransform
{
    public int Size { get; } = size > 0 ? size : throw new ArgumentOutOfRangeException(nameof(size), $"ResizeShorterSide: size must be positive, got {size}.");

    public FloatImage Apply(FloatImage image, Random random)
    {
        int h = image.Height, w = image.Width;
        var (oh, ow) = h <= w ? (Size, (int)((long)Size * w / h)) : ((int)((long)Size * h / w), Size);
        return oh == h && ow == w ? image : Bicubic.Resize(image, oh, ow);
    }
}

/// <summary>torchvision's <c>CenterCrop</c>: offsets <c>round((H − size) / 2)</c> (half to even); zero padding if the image is smaller.</summary>
internal sealed class CenterCrop(int size) : IImageTransform
{
    public int Size { get; } = size > 0 ? size : throw new ArgumentOutOfRangeException(nameof(size), $"CenterCrop: size must be positive, got {size}.");

    public FloatImage Apply(FloatImage image, Random random)
    {
        if (image.Height == Size && image.Width == Size) return image;
        int top = (int)Math.Round((image.Height - Size) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((image.Width - Size) / 2.0, MidpointRounding.ToEven);
        return Bicubic.Crop(image, top, left, Size, Size);
    }
}

/// <summary><c>(x − mean[c]) / std[c]</c> per channel (a single mean/std applies to every channel).</summary>
internal sealed class Normalize : IImageTransform
{
    public Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean); ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"Normalize: mean and std must have the same positive length, got {mean.Count} and {std.Count}.");
        if (std.Any(s => !(s > 0)))
            throw new ArgumentException($"Normalize: every std must be positive, got [{string.Join(", ", std)}].", nameof(std));
        Mean = mean.ToArray(); Std = std.ToArray();
    }

    public float[] Mean { get; }
    public float[] Std { get; }

    public FloatImage Apply(FloatImage image, Random random)
    {
        if (Mean.Length != 1 && Mean.Length != image.Channels)
            throw new ArgumentException($"Normalize: {Mean.Length} means/stds for an image with {image.Channels} channels ({image.ShapeText}).");
        var result = new FloatImage(image.Channels, image.Height, image.Width);
        int plane = image.Height * image.Width;
        for (int c = 0; c < image.Channels; c++)
        {
            float m = Mean[Mean.Length == 1 ? 0 : c], s = Std[Std.Length == 1 ? 0 : c];
            for (int i = c * plane; i < (c + 1) * plane; i++) result.Data[i] = (image.Data[i] - m) / s;
        }
        return result;
    }
}

/// <summary>Applies transforms in order, all drawing from the same per-item generator.</summary>
internal sealed class Compose(params IImageTransform[] transforms) : IImageTransform
{
    public IReadOnlyList<IImageTransform> Transforms { get; } = transforms ?? throw new ArgumentNullException(nameof(transforms));

    public FloatImage Apply(FloatImage image, Random random)
    {
        foreach (var t in Transforms) image = t.Apply(image, random);
        return image;
    }
}

/// <summary>Per-channel mean and standard deviation of a dataset, for <see cref="Normalize"/>.</summary>
public sealed record Normalization(float[] Mean, float[] Std)
{
    /// <summary>ImageNet's RGB statistics used by the official code.</summary>
    public static Normalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Fashion-MNIST's training-set statistics.</summary>
    public static Normalization FashionMnist { get; } = new([Data.FashionMnist.Mean], [Data.FashionMnist.Std]);

    /// <summary>
    /// The default for a dataset: Fashion-MNIST's own statistics; ImageNet's for any other 3-channel dataset
    /// (as the official code does); otherwise computed with <see cref="Compute"/> on up to
    /// <paramref name="maxItems"/> evenly spaced items.
    /// </summary>
    /// <remarks>Fashion-MNIST seen through <see cref="SubsetDataset"/> or as RGB through <see cref="ChannelConvertedDataset"/> keeps its own statistics
    /// (repeated per channel).</remarks>
    public static Normalization For(IImageDataset dataset, int maxItems = 2000)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (IsFashionMnist(dataset))
            return new Normalization(Enumerable.Repeat(Data.FashionMnist.Mean, dataset.Channels).ToArray(), Enumerable.Repeat(Data.FashionMnist.Std,
                dataset.Channels).ToArray());
        return dataset.Channels == 3 ? ImageNet : Compute(dataset, maxItems);
    }

    static bool IsFashionMnist(IImageDataset dataset) => dataset switch
    {
        Data.FashionMnist => true,
        SubsetDataset s => IsFashionMnist(s.Source),
        ChannelConvertedDataset c => IsFashionMnist(c.Source),
        _ => false,
    };

    /// <summary>Mean and (population) standard deviation per channel over all pixels of up to <paramref name="maxItems"/> evenly spaced items.</summary>
    public static Normalization Compute(IImageDataset dataset, int maxItems = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count == 0) throw new ArgumentException($"Normalization.Compute: the dataset is empty ({dataset.GetType().Name}).", nameof(dataset));
        int n = Math.Min(maxItems, dataset.Count), c = dataset.Channels;
        var sum = new double[c]; var sumSq = new double[c]; var count = new long[c];
        var gate = new object();
        try
        {
            Parallel.For(0, n, () => (new double[c], new double[c], new long[c]), (i, _, acc) =>
            {
                var img = dataset.Get((int)((long)i * dataset.Count / n)).Image;
                int plane = img.Height * img.Width;
                for (int ch = 0; ch < c; ch++)
                {
                    double s = 0, s2 = 0;
                    for (int k = ch * plane; k < (ch + 1) * plane; k++) { double v = img.Data[k]; s += v; s2 += v * v; }
                    acc.Item1[ch] += s; acc.Item2[ch] += s2; acc.Item3[ch] += plane;
                }
                return acc;
            }, acc => { lock (gate) for (int ch = 0; ch < c; ch++) { sum[ch] += acc.Item1[ch]; sumSq[ch] += acc.Item2[ch]; count[ch] += acc.Item3[ch]; } });
        }
        catch (AggregateException e)
        {
            // one item's own error (e.g. a broken image, named by its message), not the AggregateException of the parallel loop
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
            throw;
        }
        var mean = new float[c]; var std = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double m = sum[ch] / count[ch];
            mean[ch] = (float)m;
            std[ch] = (float)Math.Sqrt(Math.Max(sumSq[ch] / count[ch] - m * m, 1e-12));
        }
        return new Normalization(mean, std);
    }
}

/// <summary>The recipes of the official code.</summary>
internal static class Transforms
{
    /// <summary>
    /// MAE pre-training (main_pretrain.py): RandomResizedCrop(size, scale (0.2, 1.0), bicubic), horizontal
    /// flip p = 0.5, normalise. For 28×28 Fashion-MNIST use size 28: the crop is resized back to native size.
    /// </summary>
    public static IImageTransform Pretrain(int size, Normalization normalization, double minScale = 0.2)
        => new Compose(new RandomResizedCrop(size, minScale, 1.0), new RandomHorizontalFlip(0.5), new Normalize(normalization.Mean, normalization.Std));

    /// <summary>
    /// Evaluation (util/datasets.py, build_transform for eval): resize the shorter side to <c>int(size / cropPct)</c>
    /// (bicubic), centre crop <paramref name="size"/>, normalise. The official cropPct is 224/256 = 0.875 for
    /// size ≤ 224 and 1 above (the default, null, applies that rule). cropPct = 1 on images already of side
    /// <paramref name="size"/> (Fashion-MNIST at 28) leaves them at native size and only normalises.
    /// </summary>
    public static IImageTransform Eval(int size, Normalization normalization, double? cropPct = null)
    {
        double pct = cropPct ?? (size <= 224 ? 224.0 / 256.0 : 1.0);
        if (!(pct > 0 && pct <= 1)) throw new ArgumentOutOfRangeException(nameof(cropPct), $"Transforms.Eval: cropPct must be in (0, 1], got {pct}.");
        return new Compose(new ResizeShorterSide((int)(size / pct)), new CenterCrop(size), new Normalize(normalization.Mean, normalization.Std));
    }

    /// <summary>Only normalisation (images already at the model's size).</summary>
    public static IImageTransform NormalizeOnly(Normalization normalization) => new Normalize(normalization.Mean, normalization.Std);
}

// SyntheticDataset: deterministic synthetic labelled images for tests and benchmarks.
namespace MaeDsl.Data;

/// <summary>
/// A dataset that needs nothing installed: item i is drawn from <c>Seeds.Random(seed, Streams.Synthetic, i)</c>,
/// so it is the same on every machine and every call. Class <c>i % NumClasses</c> decides the pattern
/// (horizontal stripes, vertical stripes, disc, square, diagonal gradient, checkerboard, ring, cross); position,
/// size, frequency, phase, per-channel colour, background and a little noise are random. The structure is
/// learnable (a classifier or an MAE can pick it up) and the images fill [0, 1].
/// </summary>
public sealed class SyntheticDataset : IImageDataset
{
    /// <summary>The pattern names, in label order.</summary>
    public static IReadOnlyList<string> Patterns { get; } =
        ["h-stripes", "v-stripes", "disc", "square", "gradient", "checkerboard", "ring", "cross"];

    readonly long seed;

    /// <param name="count">Number of items.</param>
    /// <param name="channels">Channels (any positive number).</param>
    /// <param name="height">Height in pixels (≥ 4).</param>
    /// <param name="width">Width in pixels (≥ 4).</param>
    /// <param name="numClasses">Number of classes, 1 … 8.</param>
    /// <param name="seed">Seed of the content.</param>
    public SyntheticDataset(int count, int channels = 1, int height = 28, int width = 28, int numClasses = 4, long seed = 0)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), $"SyntheticDataset: count must be ≥ 0, got {count}.");
        if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), $"SyntheticDataset: channels must be positive, got {channels}.");
        if (height < 4 || width < 4) throw new ArgumentOutOfRangeException(nameof(height),
            $"SyntheticDataset: images must be at least 4×4, got {height}×{width}.");
        if (numClasses < 1 || numClasses > Patterns.Count)
            throw new ArgumentOutOfRangeException(nameof(numClasses),
                $"SyntheticDataset: numClasses must be 1..{Patterns.Count} (one pattern per class), got {numClasses}.");
        Count = count; Channels = channels; this.height = height; this.width = width; NumClasses = numClasses; this.seed = seed;
    }

    readonly int height, width;
    public int Count { get; }
    public int Channels { get; }
    public int? Height => height;
    public int? Width => width;
    public int NumClasses { get; }
    public IReadOnlyList<string> ClassNames => Patterns.Take(NumClasses).ToArray();

    public int GetLabel(int index) => Check(index) % NumClasses;

    public string Describe(int index) => $"SyntheticDataset(seed {seed}) item {index}";

    public (FloatImage Image, int Label) Get(int index)
    {
        int label = GetLabel(index);
        var rng = Seeds.Random(seed, Seeds.Streams.Synthetic, index);
        int h = height, w = width;
        double cy = h * (0.3 + 0.4 * rng.NextDouble()), cx = w * (0.3 + 0.4 * rng.NextDouble());
        double size = Math.Min(h, w) * (0.2 + 0.15 * rng.NextDouble());
        double period = Math.Min(h, w) / (2.0 + 3.0 * rng.NextDouble());
        double phase = rng.NextDouble() * period;
        double angle = rng.NextDouble() * 2 * Math.PI;
        double background = 0.1 * rng.NextDouble();
        var tint = new double[Channels];
        for (int c = 0; c < Channels; c++) tint[c] = 0.6 + 0.4 * rng.NextDouble();
        var image = new FloatImage(Channels, h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double dy = y + 0.5 - cy, dx = x + 0.5 - cx, r = Math.Sqrt(dy * dy + dx * dx);
                double v = label switch
                {
                    0 => Stripe(y + phase, period),
                    1 => Stripe(x + phase, period),
                    2 => r <= size ? 1 : 0,
                    3 => Math.Abs(dy) <= size && Math.Abs(dx) <= size ? 1 : 0,
                    4 => 0.5 + 0.5 * ((x + 0.5) / w - 0.5) * 2 * Math.Cos(angle) + 0.5 * ((y + 0.5) / h - 0.5) * 2 * Math.Sin(angle),
                    5 => ((int)Math.Floor((x + phase) / period) + (int)Math.Floor((y + phase) / period)) % 2 == 0 ? 1 : 0,
                    6 => Math.Abs(r - size) <= Math.Max(1.0, size * 0.3) ? 1 : 0,
                    _ => Math.Abs(dy) <= Math.Max(1.0, size * 0.25) || Math.Abs(dx) <= Math.Max(1.0, size * 0.25) ? 1 : 0,
                };
                for (int c = 0; c < Channels; c++)
                {
                    double noise = 0.05 * (rng.NextDouble() - 0.5);
                    image[c, y, x] = (float)Math.Clamp(background + (1 - background) * Math.Clamp(v, 0, 1) * tint[c] + noise, 0, 1);
                }
            }
        return (image, label);
    }

    static double Stripe(double t, double period) => ((int)Math.Floor(t / (period / 2)) & 1) == 0 ? 1 : 0;

    int Check(int index) => (uint)index < (uint)Count ? index
        : throw new ArgumentOutOfRangeException(nameof(index), $"SyntheticDataset: index {index} is outside 0..{Count - 1}.");
}

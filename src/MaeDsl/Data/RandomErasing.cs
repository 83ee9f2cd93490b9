// RandomErasing: timm's random erasing of fine-tuning, a batch augmentation next to the per-image transforms.
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Data;

/// <summary>
/// timm's RandomErasing (Zhong et al.) as main_finetune.py configures it: probability 0.25, mode "pixel"
/// (per-pixel standard-normal values, meant for normalised images), one box per image. Per image, with
/// probability <c>p</c>: up to 10 attempts draw an area fraction uniform in [0.02, 1/3] and a log-uniform
/// aspect ratio in [0.3, 1/0.3]; <c>h = round(√(area·aspect))</c>, <c>w = round(√(area/aspect))</c>; the first box
/// with <c>h &lt; H</c> and <c>w &lt; W</c> is placed uniformly and erased.
/// </summary>
internal sealed class RandomErasing
{
    readonly Random random;
    readonly torch.Generator generator;

    public RandomErasing(double probability = 0.25, double minArea = 0.02, double maxArea = 1.0 / 3, double minAspect = 0.3, int seed = 0)
    {
        if (probability is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(probability), probability, "RandomErasing: probability must be in [0, 1].");
        if (!(minArea > 0 && minArea <= maxArea && maxArea <= 1)) throw new ArgumentOutOfRangeException(nameof(minArea),
            $"RandomErasing: need 0 < minArea ≤ maxArea ≤ 1, got {minArea}, {maxArea}.");
        if (!(minAspect > 0)) throw new ArgumentOutOfRangeException(nameof(minAspect), minAspect, "RandomErasing: minAspect must be > 0.");
        Probability = probability;
        MinArea = minArea;
        MaxArea = maxArea;
        LogAspectMin = Math.Log(minAspect);
        LogAspectMax = Math.Log(1 / minAspect);
        random = new Random(seed);
        generator = new torch.Generator((ulong)seed);
    }

    public double Probability { get; }
    public double MinArea { get; }
    public double MaxArea { get; }
    double LogAspectMin { get; }
    double LogAspectMax { get; }

    /// <summary>
    /// Returns a copy of the normalised batch <paramref name="images"/> [B, C, H, W] with boxes erased (the input is
    /// not modified). Boxes are drawn from <paramref name="random"/> and the noise from <paramref name="generator"/>
    /// when given (a runner derives both from (seed, epoch, step)), else from this instance's own seeded generators.
    /// </summary>
    public Tensor Apply(Tensor images, Random? random = null, torch.Generator? generator = null)
    {
        random ??= this.random;
        generator ??= this.generator;
        if (images.dim() != 4) throw new ArgumentException($"RandomErasing.Apply: images must be [B, C, H, W], got [{string.Join(", ", images.shape)}].",
            nameof(images));
        if (!images.is_floating_point()) throw new ArgumentException($"RandomErasing.Apply: images must be floating point (normalised), got {images.dtype}.",
            nameof(images));
        using var _ = torch.no_grad();
        var output = images.clone();
        long batch = images.shape[0], channels = images.shape[1];
        int height = (int)images.shape[2], width = (int)images.shape[3];
        for (long i = 0; i < batch; i++)
        {
            if (!(random.NextDouble() <= Probability) || Probability == 0) continue;
            var box = DrawBox(height, width, random);
            if (box is not { } b) continue;
            var noise = torch.randn(new[] { channels, (long)b.Bottom - b.Top, (long)b.Right - b.Left },
                generator: generator).to(output.dtype).to(output.device);
            output[i].narrow(1, b.Top, b.Bottom - b.Top).narrow(2, b.Left, b.Right - b.Left).copy_(noise);
        }
        return output;
    }

    /// <summary>The box of one image (up to 10 attempts), or null when no attempt fits.</summary>
    CutBox? DrawBox(int height, int width, Random random)
    {
        double area = height * (double)width;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double targetArea = Uniform(random, MinArea, MaxArea) * area;
            double aspect = Math.Exp(Uniform(random, LogAspectMin, LogAspectMax));
            int h = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int w = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (w < width && h < height)
            {
                int top = random.Next(0, height - h + 1), left = random.Next(0, width - w + 1);
                return new CutBox(top, top + h, left, left + w);
            }
        }
        return null;
    }

    static double Uniform(Random random, double a, double b) => a + (b - a) * random.NextDouble();
}

// Bicubic: PIL's bicubic resize, which torchvision's transforms use on PIL images.
namespace MaeDsl.Data;

/// <summary>
/// Bicubic resampling on float CHW images with PIL's semantics (what torchvision's transforms call on the
/// PIL images of the official MAE code, <c>interpolation=3</c>): a separable Keys cubic with a = −0.5,
/// support widened by the scale factor when shrinking (antialiasing), weights normalised to sum 1, pixel
/// centres at +0.5, horizontal pass first, then vertical.
/// </summary>
internal static class Bicubic
{
    const double A = -0.5;
    const double Support = 2.0;

    /// <summary>PIL's bicubic kernel (a = −0.5).</summary>
    public static double Kernel(double x)
    {
        if (x < 0) x = -x;
        if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
        return 0;
    }

    /// <summary>
    /// Resizes <paramref name="image"/> to <paramref name="height"/>×<paramref name="width"/>. With
    /// <paramref name="clamp"/> (the default) every pass is clipped to [0, 1], as PIL clips 8-bit images;
    /// without it the result equals PIL's float ("F" mode) resize.
    /// </summary>
    public static FloatImage Resize(FloatImage image, int height, int width, bool clamp = true)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (height <= 0 || width <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"Bicubic.Resize: target size must be positive, got {height}×{width}.");
        var current = image;
        if (width != image.Width)
            current = Pass(current, width, horizontal: true, clamp);
        if (height != image.Height)
            current = Pass(current, height, horizontal: false, clamp);
        return ReferenceEquals(current, image) ? new FloatImage(image.Channels, image.Height, image.Width, (float[])image.Data.Clone()) : current;
    }

    /// <summary>Crops the box (top, left, height, width) and resizes it to <paramref name="outHeight"/>×<paramref name="outWidth"/>.</summary>
    public static FloatImage ResizedCrop(FloatImage image, int top, int left, int height, int width, int outHeight, int outWidth, bool clamp = true)
        => Resize(Crop(image, top, left, height, width), outHeight, outWidth, clamp);

    /// <summary>The box (top, left, height, width); parts outside the image are zero (as torchvision pads).</summary>
    public static FloatImage Crop(FloatImage image, int top, int left, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (height <= 0 || width <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"Crop: box size must be positive, got {height}×{width}.");
        var result = new FloatImage(image.Channels, height, width);
        for (int c = 0; c < image.Channels; c++)
            for (int y = 0; y < height; y++)
            {
                int sy = top + y;
                if (sy < 0 || sy >= image.Height) continue;
                int x0 = Math.Max(0, -left), x1 = Math.Min(width, image.Width - left);
                if (x1 <= x0) continue;
                Array.Copy(image.Data, (c * image.Height + sy) * image.Width + left + x0, result.Data, (c * height + y) * width + x0, x1 - x0);
            }
        return result;
    }

    /// <summary>PIL's precompute_coeffs: for each output pixel the first input index, the tap count and the normalised weights (stride
    /// <c>KernelSize</c>).</summary>
    internal static (int[] First, int[] Taps, double[] Weights, int KernelSize) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = Support * filterScale;
        int kernelSize = (int)Math.Ceiling(support) * 2 + 1;
        var first = new int[outSize];
        var taps = new int[outSize];
        var weights = new double[outSize * kernelSize];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            double total = 0;
            for (int x = 0; x < xmax; x++)
            {
                double w = Kernel((x + xmin - center + 0.5) / filterScale);
                weights[o * kernelSize + x] = w;
                total += w;
            }
            if (total != 0)
                for (int x = 0; x < xmax; x++) weights[o * kernelSize + x] /= total;
            first[o] = xmin;
            taps[o] = xmax;
        }
        return (first, taps, weights, kernelSize);
    }

    static FloatImage Pass(FloatImage src, int outSize, bool horizontal, bool clamp)
    {
        int c = src.Channels, h = src.Height, w = src.Width;
        int inSize = horizontal ? w : h;
        var (first, taps, weights, k) = Coefficients(inSize, outSize);
        int oh = horizontal ? h : outSize, ow = horizontal ? outSize : w;
        var dst = new FloatImage(c, oh, ow);
        var s = src.Data; var d = dst.Data;
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                {
                    int o = horizontal ? x : y;
                    double sum = 0;
                    int start = first[o], n = taps[o], wo = o * k;
                    if (horizontal)
                    {
                        int row = (ch * h + y) * w;
                        for (int t = 0; t < n; t++) sum += weights[wo + t] * s[row + start + t];
                    }
                    else
                    {
                        int col = ch * h * w + x;
                        for (int t = 0; t < n; t++) sum += weights[wo + t] * s[col + (start + t) * w];
                    }
                    float v = (float)sum;
                    d[(ch * oh + y) * ow + x] = clamp ? Math.Clamp(v, 0f, 1f) : v;
                }
        return dst;
    }
}

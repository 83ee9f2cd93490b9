// AugmentOps: the image operations of timm's auto_augment.py as Pillow computes them on 8-bit images (point ops through
// lookup tables, ImageEnhance's blends, Image.transform's bicubic affine), for RandAugment.
using System.Globalization;

namespace MaeDsl.Data;

/// <summary>
/// An 8-bit image, planar (channel, row, column) like <see cref="FloatImage"/>; 1 channel (PIL's "L") or 3 ("RGB").
/// <see cref="Pixels"/> may be longer than <see cref="Length"/> (a pooled buffer); only the first <see cref="Length"/> bytes count.
/// </summary>
internal sealed class ByteImage
{
    public ByteImage(int channels, int height, int width, byte[]? pixels = null)
    {
        if (channels is not (1 or 3) || height <= 0 || width <= 0)
            throw new ArgumentException($"ByteImage: need 1 or 3 channels and a positive size, got C={channels}, H={height}, W={width}.");
        Channels = channels; Height = height; Width = width;
        Pixels = pixels ?? new byte[Length];
        if (Pixels.Length < Length) throw new ArgumentException($"ByteImage: {Pixels.Length} bytes for {channels}×{height}×{width}.", nameof(pixels));
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public byte[] Pixels { get; }
    public int Plane => Height * Width;
    public int Length => Channels * Height * Width;

    /// <summary>The bytes of channel <paramref name="c"/>.</summary>
    public Span<byte> Channel(int c) => Pixels.AsSpan(c * Plane, Plane);
}

/// <summary>
/// Pillow 9.4's results, byte for byte where Pillow's arithmetic is integer (the lookup-table operations) and to
/// Pillow's float formulas elsewhere: ImageOps.autocontrast / equalize / invert / posterize / solarize, timm's
/// solarize_add, ImageEnhance.Color / Contrast / Brightness / Sharpness (Image.blend with a float32 factor, truncated),
/// and Image.transform(AFFINE, BICUBIC) with a fill colour (Geometry.c's cubic with a = −1 on edge-clamped neighbours,
/// a pixel whose source point lies outside the image takes the fill). Operations on a 1-channel image are Pillow's on
/// an "L" image (Color is then the identity). In-place operations change <c>image</c>; the others write <c>output</c>.
/// </summary>
internal static class AugmentOps
{
    // ---- point operations (lookup tables per channel) ----

    /// <summary>ImageOps.autocontrast(cutoff 0): each channel's darkest value to 0 and lightest to 255.</summary>
    public static void AutoContrast(ByteImage image) => MapByHistogram(image, static (histogram, lut) =>
    {
        int lo = 0, hi = 255;
        while (lo < 256 && histogram[lo] == 0) lo++;
        while (hi >= 0 && histogram[hi] == 0) hi--;
        if (hi <= lo) return false;   // one value: identity
        double scale = 255.0 / (hi - lo), offset = -lo * scale;
        for (int i = 0; i < 256; i++) lut[i] = (byte)Math.Clamp((int)(i * scale + offset), 0, 255);
        return true;
    });

    /// <summary>ImageOps.equalize: each channel's cumulative histogram as the lookup table, in Pillow's integer steps.</summary>
    public static void Equalize(ByteImage image) => MapByHistogram(image, static (histogram, lut) =>
    {
        int last = 255, nonZero = 0;
        long total = 0;
        for (int i = 0; i < 256; i++) if (histogram[i] != 0) { nonZero++; total += histogram[i]; }
        if (nonZero <= 1) return false;
        while (histogram[last] == 0) last--;
        long step = (total - histogram[last]) / 255;
        if (step == 0) return false;
        long n = step / 2;
        for (int i = 0; i < 256; i++) { lut[i] = (byte)Math.Min(255, n / step); n += histogram[i]; }
        return true;
    });

    /// <summary>Builds a channel's lookup table from its histogram; false leaves the channel unchanged.</summary>
    delegate bool LutFromHistogram(ReadOnlySpan<int> histogram, Span<byte> lut);

    static void MapByHistogram(ByteImage image, LutFromHistogram build)
    {
        Span<int> histogram = stackalloc int[256];
        Span<byte> lut = stackalloc byte[256];
        for (int c = 0; c < image.Channels; c++)
        {
            var plane = image.Channel(c);
            histogram.Clear();
            foreach (byte v in plane) histogram[v]++;
            if (build(histogram, lut)) Map(plane, lut);
        }
    }

    /// <summary>ImageOps.invert: 255 − v.</summary>
    public static void Invert(ByteImage image)
    {
        var pixels = image.Pixels.AsSpan(0, image.Length);
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(255 - pixels[i]);
    }

    /// <summary>timm's posterize: keeps the <paramref name="bits"/> high bits (8 or more: unchanged; 0 or fewer: black).</summary>
    public static void Posterize(ByteImage image, int bits)
    {
        if (bits >= 8) return;
        int mask = bits <= 0 ? 0 : ~((1 << (8 - bits)) - 1);
        Span<byte> lut = stackalloc byte[256];
        for (int i = 0; i < 256; i++) lut[i] = (byte)(i & mask);
        Map(image.Pixels.AsSpan(0, image.Length), lut);
    }

    /// <summary>ImageOps.solarize: values at or above <paramref name="threshold"/> become 255 − v.</summary>
    public static void Solarize(ByteImage image, int threshold)
    {
        Span<byte> lut = stackalloc byte[256];
        for (int i = 0; i < 256; i++) lut[i] = (byte)(i < threshold ? i : 255 - i);
        Map(image.Pixels.AsSpan(0, image.Length), lut);
    }

    /// <summary>timm's solarize_add: values below <paramref name="threshold"/> get <paramref name="add"/> added (at most 255).</summary>
    public static void SolarizeAdd(ByteImage image, int add, int threshold = 128)
    {
        Span<byte> lut = stackalloc byte[256];
        for (int i = 0; i < 256; i++) lut[i] = (byte)(i < threshold ? Math.Clamp(i + add, 0, 255) : i);
        Map(image.Pixels.AsSpan(0, image.Length), lut);
    }

    static void Map(Span<byte> pixels, ReadOnlySpan<byte> lut)
    {
        for (int i = 0; i < pixels.Length; i++) pixels[i] = lut[pixels[i]];
    }

    // ---- ImageEnhance: Image.blend(degenerate, image, factor) ----

    /// <summary>ImageEnhance.Color: blends with the image's grey version (ITU-R 601-2 luma, Pillow's integer L24); identity on 1 channel.</summary>
    public static void Color(ByteImage image, double factor, ByteImage scratch)
    {
        if (image.Channels == 1) return;
        var p = image.Pixels; var grey = scratch.Pixels;
        int plane = image.Plane;
        for (int i = 0; i < plane; i++)
        {
            byte l = Luma(p[i], p[plane + i], p[2 * plane + i]);
            grey[i] = grey[plane + i] = grey[2 * plane + i] = l;
        }
        Blend(scratch, image, factor);
    }

    /// <summary>ImageEnhance.Contrast: blends with a constant image of the mean grey level, <c>int(mean + 0.5)</c>.</summary>
    public static void Contrast(ByteImage image, double factor, ByteImage scratch)
    {
        var p = image.Pixels;
        int plane = image.Plane;
        double sum = 0;
        for (int i = 0; i < plane; i++) sum += image.Channels == 1 ? p[i] : Luma(p[i], p[plane + i], p[2 * plane + i]);
        byte mean = (byte)(int)(sum / plane + 0.5);
        scratch.Pixels.AsSpan(0, image.Length).Fill(mean);
        Blend(scratch, image, factor);
    }

    /// <summary>ImageEnhance.Brightness: blends with black.</summary>
    public static void Brightness(ByteImage image, double factor, ByteImage scratch)
    {
        scratch.Pixels.AsSpan(0, image.Length).Clear();
        Blend(scratch, image, factor);
    }

    /// <summary>ImageEnhance.Sharpness: blends with ImageFilter.SMOOTH (3×3 kernel 1 1 1 / 1 5 1 / 1 1 1 over 13; the border copied).</summary>
    public static void Sharpness(ByteImage image, double factor, ByteImage scratch)
    {
        int h = image.Height, w = image.Width;
        var src = image.Pixels; var dst = scratch.Pixels;
        Array.Copy(src, dst, image.Length);
        if (h >= 3 && w >= 3)
        {
            const float k = 1f / 13f, center = 5f / 13f;
            for (int c = 0; c < image.Channels; c++)
                for (int y = 1; y < h - 1; y++)
                {
                    int row = (c * h + y) * w, up = row - w, down = row + w;
                    for (int x = 1; x < w - 1; x++)
                    {
                        float ss = 0.5f;   // Filter.c rounds by adding 0.5 then truncating
                        ss += src[down + x - 1] * k + src[down + x] * k + src[down + x + 1] * k;
                        ss += src[row + x - 1] * k + src[row + x] * center + src[row + x + 1] * k;
                        ss += src[up + x - 1] * k + src[up + x] * k + src[up + x + 1] * k;
                        dst[row + x] = Clip8(ss);
                    }
                }
        }
        Blend(scratch, image, factor);
    }

    /// <summary>Pillow's rgb2l: <c>(19595 R + 38470 G + 7471 B + 0x8000) &gt;&gt; 16</c>.</summary>
    public static byte Luma(byte r, byte g, byte b) => (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);

    /// <summary>Image.blend(degenerate, image, factor) into <paramref name="image"/>: <c>d + α (v − d)</c> in float32, truncated, clipped when
    /// extrapolating.</summary>
    static void Blend(ByteImage degenerate, ByteImage image, double factor)
    {
        float alpha = (float)factor;
        var d = degenerate.Pixels; var p = image.Pixels;
        int n = image.Length;
        bool interpolate = alpha >= 0 && alpha <= 1.0;
        for (int i = 0; i < n; i++)
        {
            float t = d[i] + alpha * (p[i] - d[i]);
            p[i] = interpolate ? (byte)t : Clip8(t);
        }
    }

    static byte Clip8(float v) => v <= 0f ? (byte)0 : v >= 255f ? (byte)255 : (byte)v;

    // ---- geometric: Image.transform(size, AFFINE, (a, b, c, d, e, f), BICUBIC, fillcolor) ----

    /// <summary>Image.rotate(degrees) about the centre (counter-clockwise for positive degrees), size kept.</summary>
    public static void Rotate(ByteImage image, double degrees, ReadOnlySpan<byte> fill, ByteImage output)
    {
        // Image.rotate: angle % 360 (Python's sign rule), the inverse matrix with cos/sin rounded to 15 decimals
        double angle = degrees % 360.0;
        if (angle != 0 && angle < 0) angle += 360.0;
        if (angle == 0) { Array.Copy(image.Pixels, output.Pixels, image.Length); return; }
        double radians = -(angle * (Math.PI / 180.0));
        double cos = Round15(Math.Cos(radians)), sin = Round15(Math.Sin(radians)), minusSin = Round15(-Math.Sin(radians));
        double cx = image.Width / 2.0, cy = image.Height / 2.0;
        double c = cos * -cx + sin * -cy + 0.0, f = minusSin * -cx + cos * -cy + 0.0;
        Affine(image, cos, sin, c + cx, minusSin, cos, f + cy, fill, output);
    }

    /// <summary>timm's shear_x: source x = x + factor·y.</summary>
    public static void ShearX(ByteImage image, double factor, ReadOnlySpan<byte> fill, ByteImage output) => Affine(image, 1, factor, 0, 0, 1, 0, fill, output);

    /// <summary>timm's shear_y: source y = factor·x + y.</summary>
    public static void ShearY(ByteImage image, double factor, ReadOnlySpan<byte> fill, ByteImage output) => Affine(image, 1, 0, 0, factor, 1, 0, fill, output);

    /// <summary>timm's translate_x_abs: source x = x + pixels (the content moves left for positive pixels).</summary>
    public static void TranslateX(ByteImage image, double pixels, ReadOnlySpan<byte> fill, ByteImage output) => Affine(image, 1, 0, pixels, 0, 1, 0, fill,
        output);

    /// <summary>timm's translate_y_abs: source y = y + pixels.</summary>
    public static void TranslateY(ByteImage image, double pixels, ReadOnlySpan<byte> fill, ByteImage output) => Affine(image, 1, 0, 0, 0, 1, pixels, fill,
        output);

    /// <summary>Python's <c>round(x, 15)</c> (exact decimal rounding; .NET's "F15" formats the exact value).</summary>
    static double Round15(double x) => double.Parse(x.ToString("F15", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>
    /// Pillow's affine transform with the bicubic filter: output pixel (x, y) samples the source at
    /// <c>(a (x+½) + b (y+½) + c, d (x+½) + e (y+½) + f)</c>; outside [0, W) × [0, H) it takes <paramref name="fill"/>.
    /// </summary>
    public static void Affine(ByteImage image, double a, double b, double c, double d, double e, double f, ReadOnlySpan<byte> fill, ByteImage output)
    {
        if (fill.Length != image.Channels) throw new ArgumentException($"AugmentOps.Affine: {fill.Length} fill values for {image.Channels} channels.",
            nameof(fill));
        int h = image.Height, w = image.Width, plane = image.Plane;
        var src = image.Pixels; var dst = output.Pixels;
        Span<int> xs = stackalloc int[4];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double xin = a * (x + 0.5) + b * (y + 0.5) + c;
                double yin = d * (x + 0.5) + e * (y + 0.5) + f;
                int o = y * w + x;
                if (xin < 0.0 || xin >= w || yin < 0.0 || yin >= h)
                {
                    for (int ch = 0; ch < image.Channels; ch++) dst[ch * plane + o] = fill[ch];
                    continue;
                }
                xin -= 0.5; yin -= 0.5;
                int ix = (int)Math.Floor(xin), iy = (int)Math.Floor(yin);
                double dx = xin - ix, dy = yin - iy;
                ix--; iy--;
                for (int t = 0; t < 4; t++) xs[t] = Math.Clamp(ix + t, 0, w - 1);
                for (int ch = 0; ch < image.Channels; ch++)
                {
                    int basePlane = ch * plane;
                    // rows iy..iy+3: the first clamped into the image, a later one outside repeats the previous row's value
                    double v1 = Row(src, basePlane + Math.Clamp(iy, 0, h - 1) * w, xs, dx);
                    double v2 = iy + 1 >= 0 && iy + 1 < h ? Row(src, basePlane + (iy + 1) * w, xs, dx) : v1;
                    double v3 = iy + 2 >= 0 && iy + 2 < h ? Row(src, basePlane + (iy + 2) * w, xs, dx) : v2;
                    double v4 = iy + 3 >= 0 && iy + 3 < h ? Row(src, basePlane + (iy + 3) * w, xs, dx) : v3;
                    double v = Cubic(v1, v2, v3, v4, dy);
                    dst[basePlane + o] = v <= 0.0 ? (byte)0 : v >= 255.0 ? (byte)255 : (byte)v;
                }
            }
    }

    static double Row(byte[] src, int row, ReadOnlySpan<int> xs, double dx) =>
        Cubic(src[row + xs[0]], src[row + xs[1]], src[row + xs[2]], src[row + xs[3]], dx);

    /// <summary>Geometry.c's BICUBIC macro.</summary>
    static double Cubic(double v1, double v2, double v3, double v4, double d)
    {
        double p1 = v2;
        double p2 = -v1 + v3;
        double p3 = 2 * (v1 - v2) + v3 - v4;
        double p4 = -v1 + v2 - v3 + v4;
        return p1 + d * (p2 + d * (p3 + d * p4));
    }
}

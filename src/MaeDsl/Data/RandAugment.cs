// RandAugment: timm's RandAugment (rand_augment_transform) as main_finetune.py uses it by default (--aa rand-m9-mstd0.5-inc1):
// the config string, the operations' magnitude-to-argument rules, and the per-image transform on the 8-bit image.
using System.Buffers;
using System.Globalization;

namespace MaeDsl.Data;

/// <summary>The operations of timm's RandAugment sets, named as in timm's <c>NAME_TO_OP</c>.</summary>
internal enum AugmentOp
{
    AutoContrast, Equalize, Invert, Rotate,
    Posterize, PosterizeIncreasing, Solarize, SolarizeIncreasing, SolarizeAdd,
    Color, ColorIncreasing, Contrast, ContrastIncreasing, Brightness, BrightnessIncreasing, Sharpness, SharpnessIncreasing,
    ShearX, ShearY, TranslateXRel, TranslateYRel,
}

/// <summary>
/// A RandAugment configuration in timm's string grammar: <c>rand</c> followed by dash-separated sections in any order,
/// <c>mN</c> magnitude (integer, default 10), <c>nN</c> operations per image (default 2), <c>mstdX</c> magnitude noise
/// (default 0; above 100: uniform in [0, m]), <c>mmaxN</c> upper clip of the noisy magnitude (default 10),
/// <c>incN</c> the increasing-severity set when N ≠ 0 (default 0), <c>pX</c> probability of each drawn operation (default 0.5).
/// </summary>
/// <remarks>
/// Stricter than timm's parser, which skips a section without digits, lets a repeated m/n/p win over the earlier one and
/// reads any <c>inc</c> section as true (it tests <c>bool("0")</c>): here those are refused or, for <c>inc0</c>, mean the
/// plain set. timm's <c>t</c> section (weighted or 3-Augment sets) is refused.
/// </remarks>
internal sealed record RandAugmentConfig(int Magnitude = 10, int NumLayers = 2, double MagnitudeStd = 0, int? MagnitudeMax = null,
    bool Increasing = false, double Probability = 0.5)
{
    /// <summary>main_finetune.py's <c>--aa</c> default.</summary>
    public const string FineTuneDefault = "rand-m9-mstd0.5-inc1";

    /// <summary>The grammar, for messages.</summary>
    public const string Grammar = "rand-mN-nN-mstdX-mmaxN-incN-pX (sections optional, any order), or none";

    /// <summary>The operations drawn from: timm's <c>_RAND_INCREASING_TRANSFORMS</c> or <c>_RAND_TRANSFORMS</c>.</summary>
    public IReadOnlyList<AugmentOp> Ops => Increasing ? RandAugment.IncreasingOps : RandAugment.PlainOps;

    /// <summary>The magnitude's upper clip: <c>mmax</c>, else timm's _LEVEL_DENOM (10).</summary>
    public double UpperBound => MagnitudeMax ?? RandAugment.LevelDenominator;

    /// <summary>True when <paramref name="text"/> turns RandAugment off: null, empty or "none".</summary>
    public static bool IsOff(string? text) => string.IsNullOrWhiteSpace(text) || text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses <paramref name="text"/>; null when it is off (<see cref="IsOff"/>). A bad string throws <see cref="FormatException"/> saying what is
    /// wrong.</summary>
    public static RandAugmentConfig? Parse(string? text) =>
        TryParse(text, out var config, out string? error) ? config : throw new FormatException($"RandAugment config '{text}': {error}");

    /// <summary>As <see cref="Parse"/> without throwing: false and the reason in <paramref name="error"/>.</summary>
    public static bool TryParse(string? text, out RandAugmentConfig? config, out string? error)
    {
        config = null; error = null;
        if (IsOff(text)) return true;
        var sections = text!.Trim().Split('-');
        if (sections[0] != "rand") { error = $"does not start with 'rand' (expected {Grammar})"; return false; }
        var result = new RandAugmentConfig();
        var seen = new HashSet<string>();
        foreach (var section in sections.Skip(1))
        {
            int digit = section.AsSpan().IndexOfAnyInRange('0', '9');
            string key = digit < 0 ? section : section[..digit], value = digit < 0 ? "" : section[digit..];
            string? problem = key switch
            {
                _ when section.Length == 0 => "an empty section",
                _ when section.StartsWith('t') => $"'{section}': timm's transform-set section (weighted, 3-Augment) is not supported",
                _ when digit < 0 => $"'{section}' has no value",
                _ when !seen.Add(key) => $"'{key}' is given twice",
                "m" => Int(value, 0, 100, v => result = result with { Magnitude = v }),
                "n" => Int(value, 1, 15, v => result = result with { NumLayers = v }),
                "mmax" => Int(value, 1, 100, v => result = result with { MagnitudeMax = v }),
                "inc" => Int(value, 0, 1, v => result = result with { Increasing = v != 0 }),
                "mstd" => Real(value, 0, double.MaxValue, v => result = result with { MagnitudeStd = v > 100 ? double.PositiveInfinity : v }),
                "p" => Real(value, 0, 1, v => result = result with { Probability = v }),
                _ => $"unknown section '{section}'",
            };
            if (problem is not null) { error = $"{problem} (expected {Grammar})"; return false; }
        }
        config = result;
        return true;

        static string? Int(string value, int min, int max, Action<int> set)
        {
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v)) return $"'{value}' is not a whole number";
            if (v < min || v > max) return $"{v} is outside {min}..{max}";
            set(v);
            return null;
        }

        static string? Real(string value, double min, double max, Action<double> set)
        {
            if (!double.TryParse(value, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture,
                out double v) || !double.IsFinite(v))
                return $"'{value}' is not a number";
            if (v < min || v > max) return FormattableString.Invariant($"{v} is outside [{min}, {max}]");
            set(v);
            return null;
        }
    }

    public override string ToString()
    {
        double mstd = double.IsPositiveInfinity(MagnitudeStd) ? 101 : MagnitudeStd;
        string mmax = MagnitudeMax is { } mm ? $"-mmax{mm}" : "";
        return string.Create(CultureInfo.InvariantCulture, $"rand-m{Magnitude}-n{NumLayers}-mstd{mstd}{mmax}-inc{(Increasing ? 1 : 0)}-p{Probability}");
    }
}

/// <summary>
/// timm's RandAugment on the 8-bit image, as the PIL-domain step of main_finetune.py's training transform (after
/// RandomResizedCrop and the flip, before ToTensor and Normalize). Per image, from the item's own generator and in this
/// order: <see cref="RandAugmentConfig.NumLayers"/> operations drawn uniformly with replacement; then for each, in turn,
/// a uniform draw that skips it unless ≤ p; the magnitude m + mstd·N(0, 1) (uniform in [0, m] for mstd ∞) clipped to
/// [0, mmax or 10]; for a signed argument a uniform draw that negates it when &gt; 0.5 (timm's _randomly_negate).
/// </summary>
/// <remarks>
/// The float image in [0, 1] is quantised to bytes (<c>round(255 v)</c>, what Pillow's resize writes) only when an
/// operation applies, and comes back as <c>byte / 255</c> (ToTensor). Geometric operations use bicubic interpolation, as
/// main_finetune.py's <c>create_transform(interpolation='bicubic')</c> passes it to timm's RandAugment hparams (timm's own
/// default, without that hparam, is a random choice of bilinear and bicubic), and fill with <see cref="Fill"/>: timm's
/// img_mean, <c>round(255 × normalisation mean)</c>, (124, 116, 104) for ImageNet's. A 1-channel image (Fashion-MNIST)
/// gets Pillow's "L"-mode results: every operation on the grey plane, Color the identity, fill <c>round(255 × its mean)</c>.
/// </remarks>
internal sealed class RandAugment : IImageTransform
{
    /// <summary>timm's _LEVEL_DENOM: magnitude 10 is the full strength of an operation.</summary>
    public const double LevelDenominator = 10.0;

    /// <summary>timm's <c>_RAND_TRANSFORMS</c>.</summary>
    public static IReadOnlyList<AugmentOp> PlainOps { get; } =
    [
        AugmentOp.AutoContrast, AugmentOp.Equalize, AugmentOp.Invert, AugmentOp.Rotate, AugmentOp.Posterize, AugmentOp.Solarize,
        AugmentOp.SolarizeAdd, AugmentOp.Color, AugmentOp.Contrast, AugmentOp.Brightness, AugmentOp.Sharpness,
        AugmentOp.ShearX, AugmentOp.ShearY, AugmentOp.TranslateXRel, AugmentOp.TranslateYRel,
    ];

    /// <summary>timm's <c>_RAND_INCREASING_TRANSFORMS</c> (what <c>inc1</c> draws from).</summary>
    public static IReadOnlyList<AugmentOp> IncreasingOps { get; } =
    [
        AugmentOp.AutoContrast, AugmentOp.Equalize, AugmentOp.Invert, AugmentOp.Rotate, AugmentOp.PosterizeIncreasing, AugmentOp.SolarizeIncreasing,
        AugmentOp.SolarizeAdd, AugmentOp.ColorIncreasing, AugmentOp.ContrastIncreasing, AugmentOp.BrightnessIncreasing, AugmentOp.SharpnessIncreasing,
        AugmentOp.ShearX, AugmentOp.ShearY, AugmentOp.TranslateXRel, AugmentOp.TranslateYRel,
    ];

    /// <param name="config">The configuration (<see cref="RandAugmentConfig.Parse"/>).</param>
    /// <param name="fill">Fill colour of the geometric operations, one byte per channel (1 or 3): see <see cref="FillFor"/>.</param>
    public RandAugment(RandAugmentConfig config, IReadOnlyList<byte> fill)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        ArgumentNullException.ThrowIfNull(fill);
        if (fill.Count is not (1 or 3)) throw new ArgumentException($"RandAugment: the fill needs 1 or 3 values, got {fill.Count}.", nameof(fill));
        Fill = fill.ToArray();
    }

    public RandAugmentConfig Config { get; }
    public byte[] Fill { get; }

    /// <summary>timm's img_mean: <c>min(255, round(255 × mean))</c> per channel of <paramref name="normalization"/>, repeated to <paramref
    /// name="channels"/>.</summary>
    public static byte[] FillFor(Normalization normalization, int channels)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        return Enumerable.Range(0, channels)
            .Select(c => (byte)Math.Clamp(Math.Round(255.0 * normalization.Mean[normalization.Mean.Length == 1 ? 0 : c], MidpointRounding.ToEven), 0, 255))
            .ToArray();
    }

    /// <summary>True for the operations whose argument timm negates at random.</summary>
    public static bool IsSigned(AugmentOp op) => op is AugmentOp.Rotate or AugmentOp.ShearX or AugmentOp.ShearY or AugmentOp.TranslateXRel
        or AugmentOp.TranslateYRel or AugmentOp.ColorIncreasing or AugmentOp.ContrastIncreasing or AugmentOp.BrightnessIncreasing
        or AugmentOp.SharpnessIncreasing;

    /// <summary>
    /// timm's LEVEL_TO_ARG: the argument of <paramref name="op"/> at <paramref name="magnitude"/> (already clipped), negated when
    /// <paramref name="negate"/> and the operation is signed; NaN for the operations without one. Integer arguments
    /// (Posterize bits, Solarize thresholds, SolarizeAdd) are whole numbers, truncated as Python's <c>int()</c>.
    /// </summary>
    public static double LevelToArg(AugmentOp op, double magnitude, bool negate)
    {
        double level = magnitude / LevelDenominator;
        double Signed(double v) => negate ? -v : v;
        return op switch
        {
            AugmentOp.AutoContrast or AugmentOp.Equalize or AugmentOp.Invert => double.NaN,
            AugmentOp.Rotate => Signed(level * 30.0),
            AugmentOp.Posterize => (int)(level * 4),
            AugmentOp.PosterizeIncreasing => 4 - (int)(level * 4),
            AugmentOp.Solarize => Math.Min(256, (int)(level * 256)),
            AugmentOp.SolarizeIncreasing => 256 - Math.Min(256, (int)(level * 256)),
            AugmentOp.SolarizeAdd => Math.Min(128, (int)(level * 110)),
            AugmentOp.Color or AugmentOp.Contrast or AugmentOp.Brightness or AugmentOp.Sharpness => level * 1.8 + 0.1,
            AugmentOp.ColorIncreasing or AugmentOp.ContrastIncreasing or AugmentOp.BrightnessIncreasing or AugmentOp.SharpnessIncreasing
                => Math.Max(0.1, 1.0 + Signed(level * 0.9)),
            AugmentOp.ShearX or AugmentOp.ShearY => Signed(level * 0.3),
            AugmentOp.TranslateXRel or AugmentOp.TranslateYRel => Signed(level * 0.45),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "RandAugment.LevelToArg: unknown operation."),
        };
    }

    /// <summary>
    /// Applies <paramref name="op"/> with argument <paramref name="arg"/> (from <see cref="LevelToArg"/>) to <paramref name="image"/>;
    /// returns the image holding the result, <paramref name="image"/> or <paramref name="scratch"/> (same shape, overwritten).
    /// </summary>
    public static ByteImage ApplyOp(AugmentOp op, ByteImage image, double arg, ReadOnlySpan<byte> fill, ByteImage scratch)
    {
        switch (op)
        {
            case AugmentOp.AutoContrast: AugmentOps.AutoContrast(image); return image;
            case AugmentOp.Equalize: AugmentOps.Equalize(image); return image;
            case AugmentOp.Invert: AugmentOps.Invert(image); return image;
            case AugmentOp.Posterize or AugmentOp.PosterizeIncreasing: AugmentOps.Posterize(image, (int)arg); return image;
            case AugmentOp.Solarize or AugmentOp.SolarizeIncreasing: AugmentOps.Solarize(image, (int)arg); return image;
            case AugmentOp.SolarizeAdd: AugmentOps.SolarizeAdd(image, (int)arg); return image;
            case AugmentOp.Color or AugmentOp.ColorIncreasing: AugmentOps.Color(image, arg, scratch); return image;
            case AugmentOp.Contrast or AugmentOp.ContrastIncreasing: AugmentOps.Contrast(image, arg, scratch); return image;
            case AugmentOp.Brightness or AugmentOp.BrightnessIncreasing: AugmentOps.Brightness(image, arg, scratch); return image;
            case AugmentOp.Sharpness or AugmentOp.SharpnessIncreasing: AugmentOps.Sharpness(image, arg, scratch); return image;
            case AugmentOp.Rotate: AugmentOps.Rotate(image, arg, fill, scratch); return scratch;
            case AugmentOp.ShearX: AugmentOps.ShearX(image, arg, fill, scratch); return scratch;
            case AugmentOp.ShearY: AugmentOps.ShearY(image, arg, fill, scratch); return scratch;
            case AugmentOp.TranslateXRel: AugmentOps.TranslateX(image, arg * image.Width, fill, scratch); return scratch;
            case AugmentOp.TranslateYRel: AugmentOps.TranslateY(image, arg * image.Height, fill, scratch); return scratch;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "RandAugment.ApplyOp: unknown operation.");
        }
    }

    /// <summary>One drawn application: the operation, whether it applies, its magnitude and whether its argument is negated.</summary>
    public readonly record struct Draw(AugmentOp Op, bool Applied, double Magnitude, bool Negated);

    /// <summary>The draws of one image, from <paramref name="random"/> in the documented order (what <see cref="Apply"/> uses).</summary>
    public void DrawOps(Random random, Span<Draw> draws)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (draws.Length != Config.NumLayers) throw new ArgumentException(
            $"RandAugment.DrawOps: room for {draws.Length} draws, the config has {Config.NumLayers} layers.", nameof(draws));
        var ops = Config.Ops;
        Span<int> chosen = stackalloc int[draws.Length];
        for (int i = 0; i < chosen.Length; i++) chosen[i] = random.Next(ops.Count);
        for (int i = 0; i < chosen.Length; i++)
        {
            var op = ops[chosen[i]];
            if (Config.Probability < 1.0 && random.NextDouble() > Config.Probability) { draws[i] = new Draw(op, false, 0, false); continue; }
            double m = Config.Magnitude;
            if (double.IsPositiveInfinity(Config.MagnitudeStd)) m = random.NextDouble() * m;
            else if (Config.MagnitudeStd > 0) m += Config.MagnitudeStd * StandardNormal(random);
            m = Math.Max(0.0, Math.Min(m, Config.UpperBound));
            bool negated = IsSigned(op) && random.NextDouble() > 0.5;
            draws[i] = new Draw(op, true, m, negated);
        }
    }

    /// <summary>Box–Muller from two uniforms.</summary>
    static double StandardNormal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public FloatImage Apply(FloatImage image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != Fill.Length)
            throw new ArgumentException($"RandAugment: a {image.ShapeText} image with a fill of {Fill.Length} channels.", nameof(image));
        Span<Draw> draws = stackalloc Draw[Config.NumLayers];
        DrawOps(random, draws);
        bool any = false;
        foreach (var d in draws) any |= d.Applied;
        if (!any) return image;
        int n = image.Data.Length;
        byte[] a = ArrayPool<byte>.Shared.Rent(n), b = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            var current = new ByteImage(image.Channels, image.Height, image.Width, a);
            var scratch = new ByteImage(image.Channels, image.Height, image.Width, b);
            var src = image.Data;
            for (int i = 0; i < n; i++) a[i] = (byte)Math.Clamp((int)(src[i] * 255f + 0.5f), 0, 255);
            foreach (var d in draws)
            {
                if (!d.Applied) continue;
                var result = ApplyOp(d.Op, current, LevelToArg(d.Op, d.Magnitude, d.Negated), Fill, scratch);
                if (!ReferenceEquals(result, current)) (current, scratch) = (result, current);
            }
            var output = new FloatImage(image.Channels, image.Height, image.Width);
            var p = current.Pixels; var o = output.Data;
            for (int i = 0; i < n; i++) o[i] = p[i] / 255f;
            return output;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(a);
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}

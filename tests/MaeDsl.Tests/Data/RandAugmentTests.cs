// RandAugmentTests: the operations against timm's auto_augment.py run with Pillow 9.4 (Fixtures/randaugment, made by its
// make_fixtures.py), the config grammar, the distribution of the draws, and the per-image seeding.
using System.Globalization;
using System.IO.Compression;
using MaeDsl.Data;
using Xunit.Abstractions;

namespace MaeDsl.Tests.Data;

public class RandAugmentTests(ITestOutputHelper output)
{
    static readonly string FixtureDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "randaugment");

    sealed record Case(string Image, AugmentOp Op, double Magnitude, bool Negate, double Arg, byte[] Expected);

    /// <summary>The fixture's input images (planar) and cases (expected output planar).</summary>
    static (Dictionary<string, ByteImage> Inputs, List<Case> Cases) ReadFixture()
    {
        using var gz = new GZipStream(File.OpenRead(Path.Combine(FixtureDir, "pixels.bin.gz")), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        var blob = ms.ToArray();
        var inputs = new Dictionary<string, ByteImage>();
        var cases = new List<Case>();
        foreach (var line in File.ReadAllLines(Path.Combine(FixtureDir, "cases.tsv")).Where(l => l.Length > 0))
        {
            var f = line.Split('\t');
            if (f[0] == "input")
            {
                int channels = f[2] == "RGB" ? 3 : 1, w = int.Parse(f[3], CultureInfo.InvariantCulture), h = int.Parse(f[4], CultureInfo.InvariantCulture);
                inputs[f[1]] = Planar(blob, int.Parse(f[5], CultureInfo.InvariantCulture), channels, h, w);
                continue;
            }
            var input = inputs[f[1]];
            var expected = Planar(blob, int.Parse(f[6], CultureInfo.InvariantCulture), input.Channels, input.Height, input.Width).Pixels;
            cases.Add(new Case(f[1], Enum.Parse<AugmentOp>(f[2]), f[3] == "-" ? 0 : double.Parse(f[3], CultureInfo.InvariantCulture), f[4] == "1",
                f[5] == "-" ? double.NaN : double.Parse(f[5], CultureInfo.InvariantCulture), expected));
        }
        return (inputs, cases);
    }

    /// <summary>PIL's tobytes() (rows of interleaved channels) as a planar image.</summary>
    static ByteImage Planar(byte[] blob, int offset, int channels, int h, int w)
    {
        var image = new ByteImage(channels, h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < channels; c++)
                    image.Pixels[(c * h + y) * w + x] = blob[offset + (y * w + x) * channels + c];
        return image;
    }

    static byte[] Fill(ByteImage image) => image.Channels == 3 ? [124, 116, 104] : [73];

    static bool IsPointOp(AugmentOp op) => op is AugmentOp.AutoContrast or AugmentOp.Equalize or AugmentOp.Invert or AugmentOp.Posterize
        or AugmentOp.PosterizeIncreasing or AugmentOp.Solarize or AugmentOp.SolarizeIncreasing or AugmentOp.SolarizeAdd;

    [Fact]
    public void Every_operation_matches_timm_and_Pillow_point_ops_exactly_the_others_within_one_level_on_99_percent()
    {
        var (inputs, cases) = ReadFixture();
        Assert.True(cases.Count > 300, $"only {cases.Count} fixture cases");
        Assert.Equal(Enum.GetValues<AugmentOp>().ToHashSet(), cases.Select(c => c.Op).ToHashSet());
        var within = new Dictionary<AugmentOp, (long Exact, long WithinOne, long Total, double WorstCase)>();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            var input = inputs[c.Image];
            double arg = RandAugment.LevelToArg(c.Op, c.Magnitude, c.Negate);
            if (!(arg.Equals(c.Arg)))
                failures.Add(FormattableString.Invariant($"{c.Op} m={c.Magnitude} negate={c.Negate}: argument {arg:R}, timm {c.Arg:R}"));
            var image = new ByteImage(input.Channels, input.Height, input.Width, (byte[])input.Pixels.Clone());
            var result = RandAugment.ApplyOp(c.Op, image, arg, Fill(input), new ByteImage(input.Channels, input.Height, input.Width));
            long exact = 0, close = 0;
            for (int i = 0; i < input.Length; i++)
            {
                int d = Math.Abs(result.Pixels[i] - c.Expected[i]);
                if (d == 0) exact++;
                if (d <= 1) close++;
            }
            double fraction = (double)close / input.Length;
            var (e0, w0, t0, worst) = within.GetValueOrDefault(c.Op, (0, 0, 0, 1.0));
            within[c.Op] = (e0 + exact, w0 + close, t0 + input.Length, Math.Min(worst, fraction));
            if (IsPointOp(c.Op) ? exact != input.Length : fraction < 0.99)
                failures.Add(FormattableString.Invariant($"{c.Image} {c.Op} m={c.Magnitude} negate={c.Negate} arg={arg}: {exact}/{input.Length} exact, {close} within 1"));
        }
        foreach (var (op, (exact, close, total, worst)) in within.OrderBy(kv => kv.Key))
            output.WriteLine(FormattableString.Invariant($"{op,-22} {(IsPointOp(op) ? "exact" : "±1"),-5}  exact {(double)exact / total:P3}  within 1/255 {(double)close / total:P3}  (worst case {worst:P2}, {total} values)"));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Config_grammar_parses_timm_strings_and_refuses_bad_ones_with_a_reason()
    {
        var d = RandAugmentConfig.Parse("rand-m9-mstd0.5-inc1")!;
        Assert.Equal(new RandAugmentConfig(Magnitude: 9, NumLayers: 2, MagnitudeStd: 0.5, MagnitudeMax: null, Increasing: true, Probability: 0.5), d);
        Assert.Same(RandAugment.IncreasingOps, d.Ops);
        Assert.Equal(15, d.Ops.Count);
        Assert.Equal(new RandAugmentConfig(7, 3, 1.0, 12, false, 0.7), RandAugmentConfig.Parse("rand-p0.7-mmax12-n3-m7-mstd1-inc0"));
        Assert.Same(RandAugment.PlainOps, RandAugmentConfig.Parse("rand-inc0")!.Ops);
        Assert.Equal(new RandAugmentConfig(), RandAugmentConfig.Parse("rand"));
        Assert.True(double.IsPositiveInfinity(RandAugmentConfig.Parse("rand-mstd101")!.MagnitudeStd));
        Assert.Null(RandAugmentConfig.Parse("none"));
        Assert.Null(RandAugmentConfig.Parse(""));
        Assert.Null(RandAugmentConfig.Parse(null));
        Assert.Equal(RandAugmentConfig.Parse("rand-m9-mstd0.5-inc1"), RandAugmentConfig.Parse(RandAugmentConfig.Parse("rand-m9-mstd0.5-inc1")!.ToString()));
        foreach (var (bad, reason) in new[]
        {
            ("rand-m9-x1", "unknown section 'x1'"), ("augmix-m5", "does not start with 'rand'"), ("rand-m9.5", "not a whole number"),
            ("rand-n0", "outside 1..15"), ("rand-p1.5", "outside [0, 1]"), ("rand-m9-m8", "given twice"), ("rand-mstd", "has no value"),
            ("rand-tweights", "transform-set"), ("rand--m9", "empty section"), ("rand-inc2", "outside 0..1"), ("rand-mmax0", "outside 1..100"),
        })
        {
            var e = Assert.Throws<FormatException>(() => RandAugmentConfig.Parse(bad));
            Assert.Contains(reason, e.Message);
            Assert.Contains(bad, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    /// <summary>Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| &lt; 1.5e-7).</summary>
    static double Phi(double z)
    {
        double x = Math.Abs(z) / Math.Sqrt(2), t = 1 / (1 + 0.3275911 * x);
        double erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
    }

    [Fact]
    public void Draws_are_uniform_over_the_15_ops_applied_with_p_one_half_with_clipped_gaussian_magnitudes_and_random_signs()
    {
        var ra = new RandAugment(RandAugmentConfig.Parse(RandAugmentConfig.FineTuneDefault)!, [124, 116, 104]);
        const int Images = 40_000;
        var counts = new long[15];
        var magnitudes = new List<double>();
        long applied = 0, signed = 0, negated = 0, draws = 0;
        var d = new RandAugment.Draw[2];
        for (int i = 0; i < Images; i++)
        {
            ra.DrawOps(Seeds.Random(17, Seeds.Streams.Augment, 0, i), d);
            foreach (var draw in d)
            {
                draws++;
                counts[RandAugment.IncreasingOps.ToList().IndexOf(draw.Op)]++;
                if (!draw.Applied) continue;
                applied++;
                magnitudes.Add(draw.Magnitude);
                if (RandAugment.IsSigned(draw.Op)) { signed++; if (draw.Negated) negated++; }
            }
        }
        Assert.Equal(2L * Images, draws);
        // op choice: chi-square, 14 degrees of freedom; 36.12 is the 0.999 quantile
        double expected = draws / 15.0, chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        // application: binomial(draws, 0.5); sign: binomial(signed, 0.5)
        double zApplied = (applied - 0.5 * draws) / Math.Sqrt(0.25 * draws);
        double zNegated = (negated - 0.5 * signed) / Math.Sqrt(0.25 * signed);
        // magnitude: N(9, 0.5²) clipped to [0, 10]: an atom of P(z > 2) at 10, the normal CDF below it (Kolmogorov–Smirnov)
        magnitudes.Sort();
        double pTop = 1 - Phi(2), atTop = magnitudes.Count(m => m == 10.0);
        double zTop = (atTop - pTop * applied) / Math.Sqrt(pTop * (1 - pTop) * applied);
        double Ks(double sigma)
        {
            double worst = 0;
            for (int k = 0; k < magnitudes.Count && magnitudes[k] < 10; k++)
            {
                double f = Phi((magnitudes[k] - 9) / sigma);
                worst = Math.Max(worst, Math.Max(Math.Abs((k + 1.0) / magnitudes.Count - f), Math.Abs((double)k / magnitudes.Count - f)));
            }
            return worst;
        }
        double ks = Ks(0.5), ksWrong = Ks(0.6), ksCritical = 1.95 / Math.Sqrt(magnitudes.Count);   // α = 0.001
        output.WriteLine(FormattableString.Invariant($"{draws} draws: op counts [{string.Join(", ", counts)}], chi-square {chi2:F2} (df 14, 0.999 quantile 36.12)"));
        output.WriteLine(FormattableString.Invariant($"applied {applied} (z {zApplied:F2}); negated {negated} of {signed} signed (z {zNegated:F2})"));
        output.WriteLine(FormattableString.Invariant($"magnitude mean {magnitudes.Average():F4} (clipped-normal mean 8.9958), at the clip 10: {atTop} (z {zTop:F2}); KS vs N(9, 0.5) {ks:F4}, vs N(9, 0.6) {ksWrong:F4}, critical {ksCritical:F4}"));
        Assert.True(chi2 < 36.12, $"op choice chi-square {chi2:F2}");
        Assert.True(Math.Abs(zApplied) < 3.5, $"application z {zApplied:F2}");
        Assert.True(Math.Abs(zNegated) < 3.5, $"negation z {zNegated:F2}");
        Assert.True(Math.Abs(zTop) < 3.5, $"clip-at-10 z {zTop:F2}");
        Assert.True(magnitudes[0] >= 0 && magnitudes[^1] <= 10);
        Assert.True(ks < ksCritical, $"KS {ks:F4} ≥ {ksCritical:F4}");
        Assert.True(ksWrong > ksCritical, $"the KS test cannot tell std 0.6 from 0.5 ({ksWrong:F4})");   // the test has power
    }

    static FloatImage Gradient(int channels, int size)
    {
        var image = new FloatImage(channels, size, size);
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++) image[c, y, x] = ((x * 7 + y * 3 + c * 50) % 256) / 255f;
        return image;
    }

    [Fact]
    public void Apply_depends_only_on_the_items_generator_and_keeps_shape_and_byte_levels()
    {
        var ra = new RandAugment(RandAugmentConfig.Parse(RandAugmentConfig.FineTuneDefault)!, RandAugment.FillFor(Normalization.ImageNet, 3));
        Assert.Equal(new byte[] { 124, 116, 104 }, ra.Fill);
        Assert.Equal(new byte[] { 73 }, RandAugment.FillFor(Normalization.FashionMnist, 1));
        var image = Gradient(3, 24);
        var before = (float[])image.Data.Clone();
        var a = ra.Apply(image, Seeds.Random(3, Seeds.Streams.Augment, 1, 5));
        var b = ra.Apply(image, Seeds.Random(3, Seeds.Streams.Augment, 1, 5));
        Assert.Equal(before, image.Data);
        Assert.Equal(a.Data, b.Data);
        Assert.Equal(image.ShapeText, a.ShapeText);
        int differ = Enumerable.Range(0, 50).Count(i => !ra.Apply(image, Seeds.Random(3, Seeds.Streams.Augment, 1, i)).Data.SequenceEqual(a.Data));
        Assert.True(differ >= 40, $"only {differ} of 50 items differ from item 5");
        foreach (var v in a.Data) Assert.Equal(v, MathF.Round(v * 255f) / 255f);
        Assert.Throws<ArgumentException>(() => ra.Apply(Gradient(1, 24), Seeds.Random(3, Seeds.Streams.Augment, 1, 5)));   // 1 channel needs a 1-channel fill
    }

    [Fact]
    public void The_fine_tune_transform_puts_RandAugment_after_crop_and_flip_and_its_batches_do_not_depend_on_worker_threads()
    {
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        var on = Assert.IsType<Compose>(MaeDsl.Training.FineTuning.FineTuner.TrainTransform(16, 1, Normalization.FashionMnist));
        Assert.Equal([typeof(RandomResizedCrop), typeof(RandomHorizontalFlip), typeof(RandAugment), typeof(Normalize)], on.Transforms.Select(t => t.GetType()));
        Assert.Equal(new byte[] { 73 }, ((RandAugment)on.Transforms[2]).Fill);
        var off = Assert.IsType<Compose>(MaeDsl.Training.FineTuning.FineTuner.TrainTransform(16, 1, Normalization.FashionMnist, autoAugment: "none"));
        Assert.DoesNotContain(off.Transforms, t => t is RandAugment);

        var data = new SyntheticDataset(24, channels: 3, height: 20, width: 20, numClasses: 3, seed: 4);
        float[] Epoch(int workers, string aa)
        {
            var loader = new BatchLoader(data, 8, MaeDsl.Training.FineTuning.FineTuner.TrainTransform(16, 3, Normalization.ImageNet, autoAugment: aa),
                shuffle: true, dropLast: true, seed: 9, workers: workers);
            var values = new List<float>();
            foreach (var batch in loader.Epoch(2)) using (batch) values.AddRange(batch.Images.data<float>().ToArray());
            return values.ToArray();
        }
        var one = Epoch(1, RandAugmentConfig.FineTuneDefault);
        Assert.Equal(one, Epoch(2, RandAugmentConfig.FineTuneDefault));
        Assert.NotEqual(one, Epoch(1, "none"));
    }
}

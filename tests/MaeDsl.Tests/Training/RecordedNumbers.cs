// Numbers computed now against numbers recorded on another machine: a tolerance measured across kernel paths, and the
// measuring mode that produced it (MAEDSL_FIXTURE_MEASURE, driven by eng/measure-fixture-spread.sh).
using System.Globalization;

namespace MaeDsl.Tests.Training;

/// <summary>
/// A fixture recorded on one CPU (the loss trajectory, the legacy runs' losses and accuracies) is compared on another
/// within <see cref="RelativeTolerance"/>, not bit for bit: MKL and oneDNN pick their kernels by CPU, so the last bits
/// of a sum differ between machines while each machine stays deterministic. Bit-identity is promised, and tested, only
/// between two computations of the same run of the suite (resume against uninterrupted, in the Faults tests).
/// How the tolerance was measured, and its figures: <c>Fixtures/README.md</c>.
/// </summary>
internal static class RecordedNumbers
{
    /// <summary>Relative tolerance at step 0: 10× the largest spread measured there (9.4e-8).</summary>
    public const double InitialTolerance = 1e-6;

    /// <summary>Steps over which the tolerance grows by <see cref="InitialTolerance"/> (linearly, as accumulated round-off can).</summary>
    public const double GrowthSteps = 25;

    /// <summary>|actual − recorded| / |recorded| allowed at <paramref name="step"/> (0-based optimizer iteration): 1e-6 at step 0, 2.96e-6 at 49.</summary>
    public static double RelativeTolerance(int step) => InitialTolerance * (1 + step / GrowthSteps);

    /// <summary>The folder of the measuring mode (eng/measure-fixture-spread.sh), or null.</summary>
    public static string? MeasureDirectory => Environment.GetEnvironmentVariable("MAEDSL_FIXTURE_MEASURE") is { Length: > 0 } d ? d : null;

    /// <summary>The first step where <paramref name="actual"/> leaves the tolerance around <paramref name="recorded"/>, or null.</summary>
    public static int? FirstViolation(IReadOnlyList<double> recorded, IReadOnlyList<double> actual, Func<int, int>? stepOf = null)
    {
        for (int i = 0; i < recorded.Count; i++)
            if (!Within(recorded[i], actual[i], RelativeTolerance(stepOf?.Invoke(i) ?? i))) return i;
        return null;
    }

    static bool Within(double recorded, double actual, double tolerance) =>
        Math.Abs(actual - recorded) <= tolerance * Math.Max(Math.Abs(recorded), double.Epsilon);

    /// <summary>
    /// Asserts that <paramref name="actual"/> follows <paramref name="recorded"/> within the tolerance, value by value
    /// (<paramref name="stepOf"/> maps a value's index to its optimizer step; default: the index). In the measuring mode it
    /// writes both series to the measure folder instead, and the test ends with <see cref="SkipIfMeasuring"/>.
    /// </summary>
    public static void AssertClose(string name, IReadOnlyList<double> recorded, IReadOnlyList<double> actual, Func<int, int>? stepOf = null)
    {
        Assert.Equal(recorded.Count, actual.Count);
        if (MeasureDirectory is { } dir)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllLines(Path.Combine(dir, name + ".tsv"), recorded.Select((r, i) =>
                string.Create(CultureInfo.InvariantCulture, $"{stepOf?.Invoke(i) ?? i}\t{r:R}\t{actual[i]:R}")));
            return;
        }
        if (FirstViolation(recorded, actual, stepOf) is int at)
        {
            int step = stepOf?.Invoke(at) ?? at;
            double relative = Math.Abs(actual[at] - recorded[at]) / Math.Abs(recorded[at]);
            Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                $"{name} value {at} (step {step}): {actual[at]:R} against the recorded {recorded[at]:R}, relative difference {relative:E2} > " +
                $"tolerance {RelativeTolerance(step):E2} (Fixtures/README.md)"));
        }
    }

    /// <summary>The last line of a test that calls <see cref="AssertClose"/>: in the measuring mode it compared nothing, and says so by skipping.</summary>
    public static void SkipIfMeasuring() =>
        Skip.If(MeasureDirectory is not null, $"measuring mode (MAEDSL_FIXTURE_MEASURE={MeasureDirectory}): wrote the series, compared nothing");
}

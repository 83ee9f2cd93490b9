// `bench`: its machine-readable last line (every key, numbers that parse, the analytic FLOPs of the spec, the efficiency
// as defined) for the tiny model in fp32, bf16 and on Fashion-MNIST through the loader; the options checked before work.
using System.Globalization;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class BenchTests
{
    static readonly string[] Keys =
        ["model", "precision", "batch", "threads", "train_img_per_s", "encode_img_per_s", "gflop_per_img", "gemm_gflops", "efficiency", "auto"];

    static Dictionary<string, string> LastLine(CliResult r)
    {
        Assert.True(r.ExitCode == 0, r.ToString());
        var last = r.OutLines[^1];
        Assert.StartsWith("bench ", last);
        var pairs = last["bench ".Length..].Split(' ').Select(p => p.Split('=', 2)).ToList();
        Assert.All(pairs, p => Assert.Equal(2, p.Length));
        var values = pairs.ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(Keys, values.Keys);
        return values;
    }

    static double Number(Dictionary<string, string> line, string key)
    {
        Assert.True(double.TryParse(line[key], NumberStyles.Float, CultureInfo.InvariantCulture, out double x), $"{key}={line[key]}");
        Assert.DoesNotContain("E", line[key], StringComparison.OrdinalIgnoreCase);
        return x;
    }

    static void CheckFigures(Dictionary<string, string> line, string precision)
    {
        Assert.Equal("tiny", line["model"]);
        Assert.Equal(precision, line["precision"]);
        Assert.Equal("8", line["batch"]);
        Assert.Equal("1", line["threads"]);
        foreach (var key in Keys.Skip(4).SkipLast(1)) Assert.True(Number(line, key) > 0, $"{key}={line[key]}");
        Assert.Contains(line["auto"], new[] { "fp32", "bf16" });
        // gflop_per_img is the spec's analytic count, printed with at least 4 significant digits
        var spec = MaeModels.Find("tiny").Spec;
        double gflop = Number(line, "gflop_per_img");
        Assert.Equal(spec.TrainingFlopsPerImage / 1e9, gflop, spec.TrainingFlopsPerImage / 1e9 * 1e-3);
        double expected = Number(line, "train_img_per_s") * gflop / Number(line, "gemm_gflops");
        Assert.Equal(expected, Number(line, "efficiency"), expected * 2e-3);
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("bf16")]
    public void The_last_line_has_every_key_for_the_tiny_model_on_random_tensors(string precision)
    {
        var r = CliConsole.Run(["bench", "--model", "tiny", "--batch", "8", "--iterations", "2", "--warmup", "1", "--threads", "1",
                                "--precision", precision, "--gemm-size", "256"]);
        CheckFigures(LastLine(r), precision);
        Assert.Contains("one random batch", r.OutLines[0]);
    }

    [Theory]
    [InlineData(0.069, "fp32", "0.69")]
    [InlineData(0.2, "bf16", "2.00")]
    public void Auto_times_what_auto_chooses_and_reports_both_rates(double fp32Seconds, string expected, string ratio)
    {
        using var dir = new TempDir();
        using var injected = new InjectedPrecisionCache(dir.Path, 8, new MaeDsl.PrecisionMeasurement(fp32Seconds, 0.1));
        var r = CliConsole.Run(["bench", "--model", "tiny", "--batch", "8", "--iterations", "2", "--warmup", "1", "--threads", "1",
                                "--precision", "auto", "--gemm-size", "256"]);
        var line = LastLine(r);
        CheckFigures(line, expected);
        Assert.Equal(expected, line["auto"]);
        string report = r.OutLines.Single(l => l.StartsWith("precision auto: ", StringComparison.Ordinal));
        Assert.StartsWith($"precision auto: {expected} (auto: bf16 measured {ratio}× here, cached); calibration (pretrain 28x28x1 ", report);
        double fp32Rate = 8 / fp32Seconds, bf16Rate = 8 / 0.1;   // the calibration's batch is the run's: 8 images
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"fp32 {Bench.Sig(fp32Rate)} images/s, bf16 {Bench.Sig(bf16Rate)} images/s"), report);
    }

    [Fact]
    public void Dataset_times_the_iterations_on_fashion_mnist_through_the_loader()
    {
        var r = CliConsole.Run(["bench", "--model", "tiny", "--batch", "8", "--iterations", "3", "--warmup", "1", "--threads", "1",
                                "--dataset", "fashion-mnist", "--train-limit", "16", "--gemm-size", "256"]);
        CheckFigures(LastLine(r), "fp32");
        Assert.Contains("Fashion-MNIST", r.OutLines[0]);   // 3 + 1 iterations over 2 batches per epoch: the stream wraps round
    }

    [Theory]
    [InlineData("--threads", "0", "--threads = 0 is invalid: must be >= 1")]
    [InlineData("--batch", "0", "--batch = 0 is invalid: must be >= 1")]
    [InlineData("--iterations", "0", "--iterations = 0 is invalid: must be >= 1")]
    [InlineData("--warmup", "-1", "--warmup = -1 is invalid: must be >= 0")]
    [InlineData("--precision", "fp16", "--precision = fp16 is invalid: must be fp32, bf16 or auto")]
    [InlineData("--gemm-size", "0", "--gemm-size = 0 is invalid: must be >= 1")]
    [InlineData("--train-limit", "0", "--train-limit = 0 is invalid: must be >= 1")]
    [InlineData("--dataset", "/no/such/folder", "--dataset '/no/such/folder' is neither")]
    public void A_bad_option_is_one_error_line_before_any_work(string option, string value, string message)
    {
        var r = CliConsole.Run(["bench", "--model", "tiny", option, value]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Out);
        var line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: " + message, line);
    }

    [Theory]
    [InlineData(2.25, "2.250")]
    [InlineData(1115.3, "1115")]
    [InlineData(12345.6, "12346")]
    [InlineData(0.81234, "0.8123")]
    [InlineData(0.0012344, "0.001234")]
    public void Figures_keep_at_least_four_significant_digits_without_an_exponent(double x, string text) =>
        Assert.Equal(text, Bench.Sig(x));
}

// --precision on the training commands (issues 11, 16): auto is measured (or read from the cache, or kept from a resumed
// checkpoint), printed with its ratio and recorded with its reason; pretrain and linprobe run in bf16 and record it in
// config.json; a resume in another precision is refused in one error line unless --allow-change precision.
using System.Text.Json.Nodes;
using MaeDsl.Cli.Tests.Faults;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class PrecisionCommandTests
{
    internal static string RecordedPrecision(string run) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!["run"]!["precision"]!.GetValue<string>();

    static JsonNode? RecordedAuto(string run) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!["derived"]![PrecisionChoice.DerivedKey];

    static string RecipeLine(CliResult r) => r.Out.Split('\n').Single(l => l.StartsWith("recipe: ", StringComparison.Ordinal));

    static readonly string[] Tiny = ["pretrain", "--model", "tiny", "--train-limit", "64", "--batch", "64", "--threads", "1"];

    [Theory]
    [InlineData(0.069, "fp32", "0.69")]   // bf16 slower (the Intel Xeon without AMX): fp32
    [InlineData(0.11, "fp32", "1.10")]    // faster, but within the margin: a tie, fp32
    [InlineData(0.2, "bf16", "2.00")]     // clearly faster: bf16
    public void Auto_runs_what_the_measurement_says_prints_the_ratio_and_records_the_reason(double fp32Seconds, string expected, string ratio)
    {
        using var dir = new TempDir();
        using var injected = new InjectedPrecisionCache(dir.Path, 64, new PrecisionMeasurement(fp32Seconds, 0.1));
        string run = Path.Combine(dir.Path, "run");
        var r = CliConsole.Run([.. Tiny, "--epochs", "1", "--output", run]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.EndsWith($", precision: {expected} (auto: bf16 measured {ratio}× here, cached)", RecipeLine(r));
        Assert.Equal(expected, RecordedPrecision(run));   // config.json's "run" holds what ran, never "auto"
        var auto = RecordedAuto(run)!;
        Assert.Equal(("auto", expected, "cached"),
            (auto["requested"]!.GetValue<string>(), auto["ran"]!.GetValue<string>(), auto["source"]!.GetValue<string>()));
        Assert.Equal(double.Parse(ratio, System.Globalization.CultureInfo.InvariantCulture), auto["bf16_speedup"]!.GetValue<double>(), 1e-9);
        Assert.NotNull(MaeDsl.Training.RunConfig.Read(Path.Combine(run, "config.json")));   // the reader takes the new key in its stride
    }

    [Fact]
    public void Auto_measures_once_then_reads_the_cache_and_a_resume_keeps_the_recorded_precision_on_any_machine()
    {
        using var dir = new TempDir();
        using var injected = new InjectedPrecisionCache(dir.Path, 64, null);
        var cache = injected.Cache;
        string run = Path.Combine(dir.Path, "run");
        var first = CliConsole.Run([.. Tiny, "--epochs", "1", "--output", run]);
        Assert.True(first.ExitCode == 0, first.ToString());
        string ran = RecordedPrecision(run);
        var auto = RecordedAuto(run)!;
        Assert.Equal("measured", auto["source"]!.GetValue<string>());
        double speedup = auto["bf16_speedup"]!.GetValue<double>();
        Assert.Equal(MixedPrecision.Name(AutoPrecision.Choose(speedup)), ran);   // the rule, whatever this CPU measured
        Assert.Matches($@", precision: {ran} \(auto: bf16 measured \d+\.\d\d× here\)$", RecipeLine(first));
        Assert.True(File.Exists(cache.Path));

        string again = Path.Combine(dir.Path, "again");
        var second = CliConsole.Run([.. Tiny, "--epochs", "1", "--output", again]);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.EndsWith(", cached)", RecipeLine(second));
        Assert.Equal(ran, RecordedPrecision(again));

        // the other machine's measurement says the opposite: a resume keeps the checkpoint's precision, measures nothing, and is allowed
        var opposite = ran == "bf16" ? new PrecisionMeasurement(0.05, 0.1) : new PrecisionMeasurement(0.3, 0.1);
        using var elsewhere = new InjectedPrecisionCache(dir.Path, 64, opposite);
        var resumed = CliConsole.Run([.. Tiny, "--epochs", "2", "--resume", Path.Combine(run, "checkpoints", "checkpoint-last.ckpt")]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.EndsWith($", precision: {ran} (auto: the resumed run's)", RecipeLine(resumed));
        Assert.Equal(ran, RecordedPrecision(run));
        Assert.Equal("resumed", RecordedAuto(run)!["source"]!.GetValue<string>());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Pretrain_and_linprobe_run_in_bf16_record_it_and_a_resume_in_fp32_is_refused_unless_allowed()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        string[] tiny = ["pretrain", "--model", "tiny", "--train-limit", "128", "--batch", "64", "--threads", "1"];
        var r = CliConsole.Run([.. tiny, "--epochs", "1", "--precision", "bf16", "--output", run]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.EndsWith(", precision: bf16", RecipeLine(r));
        Assert.Equal("bf16", RecordedPrecision(run));

        string checkpoint = Path.Combine(run, "checkpoints", "checkpoint-last.ckpt");
        var before = File.ReadAllBytes(checkpoint);
        var refused = CliConsole.Run([.. tiny, "--epochs", "2", "--resume", checkpoint, "--precision", "fp32"]);
        string line = RunCliFaultTests.AssertOneErrorLine(refused);
        Assert.Contains("--precision: checkpoint bf16, this run fp32", line);
        Assert.Contains("--allow-change precision", line);
        Assert.Equal(before, File.ReadAllBytes(checkpoint));

        var allowed = CliConsole.Run([.. tiny, "--epochs", "2", "--resume", checkpoint, "--precision", "fp32", "--allow-change", "precision"]);
        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        Assert.Equal("fp32", RecordedPrecision(run));
        Assert.Contains("\"option\":\"--precision\"", File.ReadAllText(Path.Combine(run, "history.jsonl")));

        string probe = Path.Combine(dir.Path, "probe");
        var lp = CliConsole.Run(["linprobe", "--model", "tiny", "--pretrained", Path.Combine(run, "checkpoints", "checkpoint-0001.safetensors"),
            "--train-limit", "128", "--test-limit", "64", "--epochs", "1", "--warmup-epochs", "0", "--batch", "32", "--threads", "1",
            "--precision", "bf16", "--output", probe]);
        Assert.True(lp.ExitCode == 0, lp.ToString());
        Assert.Equal("bf16", RecordedPrecision(probe));
    }
}

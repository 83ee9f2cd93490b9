// --precision on the training commands (issue 11): pretrain and linprobe run in bf16 and record it in config.json; a resume
// in another precision is refused in one error line unless --allow-change precision.
using System.Text.Json.Nodes;
using MaeDsl.Cli.Tests.Faults;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class PrecisionCommandTests
{
    static string RecordedPrecision(string run) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!["run"]!["precision"]!.GetValue<string>();

    [Fact]
    public void Auto_the_default_is_bf16_exactly_where_the_cpu_multiplies_bf16_in_hardware_and_is_recorded_resolved()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var r = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "64", "--batch", "64", "--epochs", "1", "--threads", "1", "--output", run]);
        Assert.True(r.ExitCode == 0, r.ToString());
        string cpuFlags = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags")) ?? "" : "";
        bool hardware = OperatingSystem.IsLinux() && cpuFlags.Split(' ', '\t').Any(f => f is "avx512_bf16" or "amx_bf16");
        Assert.Equal(hardware, MaeDsl.Model.MixedPrecision.HardwareBf16);
        Assert.Equal(hardware ? "bf16" : "fp32", RecordedPrecision(run));   // config.json holds what ran, never "auto"
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
        Assert.Contains(", bf16", r.Out.Split('\n').Single(l => l.StartsWith("recipe: ", StringComparison.Ordinal)));
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

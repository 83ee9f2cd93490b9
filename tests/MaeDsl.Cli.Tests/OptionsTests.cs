// The options as one model (issues 17, 18 §4, 19 class 5): config.json records what the command line said (threads, workers,
// the masking strategy by name); a run that would take no optimizer step and --threads beyond the usable cores are refused in
// one line; every command runs with --epochs 1 and its defaults; each help text's default is the parsed default.
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MaeDsl.Cli.Tests.Faults;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class OptionsTests
{
    /// <summary>A one-epoch pre-training of the tiny model on 128 images into dir/run; its folder.</summary>
    static string TinyRun(TempDir dir)
    {
        string output = Path.Combine(dir.Path, "run");
        var r = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "1", "--batch", "64", "--threads", "1", "--output", output]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return output;
    }

    [Fact]
    public void Config_json_records_the_threads_and_workers_used_and_the_masking_strategy_by_name()
    {
        using var dir = new TempDir();
        string output = TinyRun(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
        Assert.Equal(1, config["run"]!["threads"]!.GetValue<int>());
        Assert.Equal(DataSources.PretrainWorkers, config["run"]!["workers"]!.GetValue<int>());
        Assert.Equal("random", config["spec"]!["masking"]!.GetValue<string>());
        // a resume reads it back (and a file of an older build, with "masking": 0, reads as the same spec: LegacyFilesTests)
        var again = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "2", "--batch", "64", "--threads", "1",
            "--output", output, "--resume", Path.Combine(output, "checkpoints", "checkpoint-last.ckpt")]);
        Assert.True(again.ExitCode == 0, again.ToString());
    }

    [Fact]
    public void A_config_json_with_the_masking_strategy_as_a_number_still_reads()
    {
        using var dir = new TempDir();
        string path = Path.Combine(TinyRun(dir), "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json["spec"]!["masking"] = 0;
        var config = MaeDsl.Training.RunConfig.Parse(json, path);
        Assert.Equal(MaskingStrategy.Random, config.Spec!.Masking);
        Assert.Equal("random", config.ToJson()["spec"]!["masking"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("pretrain", new[] { "--train-limit", "512", "--batch", "64", "--accum", "1000" }, "--accum 1000 with --batch 64 on 512 training images (--train-limit 512): 8 iterations an epoch")]
    [InlineData("pretrain", new[] { "--train-limit", "1", "--batch", "100000" }, "--batch 100000 is more than the 1 training images (--train-limit 1)")]
    [InlineData("finetune", new[] { "--train-limit", "128", "--test-limit", "32", "--batch", "32", "--accum", "5" }, "--accum 5 with --batch 32 on 128 training images")]
    [InlineData("linprobe", new[] { "--train-limit", "100", "--test-limit", "32", "--batch", "512" }, "--batch 512 is more than the 100 training images (--train-limit 100)")]
    // --batch not typed: the error names the default as a default, and tells which option to pass
    [InlineData("linprobe", new[] { "--train-limit", "100", "--test-limit", "32" },
        "--train-limit 100 leaves 100 training images, fewer than the default batch 512: no full batch, so the run would take no optimizer step; pass --batch 100 or less")]
    [InlineData("pretrain", new[] { "--train-limit", "10" },
        "--train-limit 10 leaves 10 training images, fewer than the default batch 256: no full batch, so the run would take no optimizer step; pass --batch 10 or less")]
    [InlineData("finetune", new[] { "--train-limit", "8", "--test-limit", "32" }, "--train-limit 8 leaves 8 training images, fewer than the default batch ")]
    [InlineData("pretrain", new[] { "--train-limit", "512", "--accum", "3" }, "--accum 3 with the default batch 256 on 512 training images (--train-limit 512): 2 iterations an epoch")]
    public void A_run_that_would_take_no_optimizer_step_is_refused_in_one_line_naming_the_options(string command, string[] options, string expected)
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "run");
        var r = CliConsole.Run([command, "--model", "tiny", "--threads", "1", "--epochs", "1", "--output", output, .. options]);
        string line = RunCliFaultTests.AssertOneErrorLine(r);
        Assert.Contains(expected, line);
        Assert.Contains("no optimizer step", line);
        // an error names only the options the user typed: an option it names before the fix ("; pass ...") was typed
        foreach (Match named in Regex.Matches(line.Split("; ")[0], @"--[a-z-]+"))
            Assert.True(options.Contains(named.Value), $"'{named.Value}' was not typed: {line}");
        Assert.False(Directory.Exists(Path.Combine(output, "checkpoints")), r.ToString());
    }

    [Fact]
    public void Threads_beyond_the_cores_the_process_may_use_are_refused_by_every_command_naming_the_limit()
    {
        int cores = Environment.ProcessorCount;
        var root = MaeCli.CreateRootCommand();
        var commands = root.Subcommands.Where(c => c.Options.Any(o => o.Name == "--threads")).Select(c => c.Name).Prepend("").ToList();
        Assert.True(commands.Count >= 8, string.Join(", ", commands));
        foreach (var command in commands)
        {
            var c = command.Length > 0 ? root.Subcommands.Single(x => x.Name == command) : root;
            var r = CliConsole.Run([.. (command.Length > 0 ? new[] { command } : []), "--threads", (cores + 1).ToString(CultureInfo.InvariantCulture),
                .. CliConsole.Required(c, "/no/such/file")]);
            string line = RunCliFaultTests.AssertOneErrorLine(r);
            Assert.Contains($"--threads = {cores + 1} is invalid: must be at most {cores}, the cores this process may use", line);
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Threads_are_bounded_by_the_cpu_affinity_of_the_process()
    {
        if (!File.Exists("/usr/bin/taskset")) Assert.Fail("taskset (util-linux) is needed to set the affinity of the child");
        string work = Processes.TempDirectory("maedsl-affinity");
        try
        {
            var start = new ProcessStartInfo("/usr/bin/taskset", ["-c", "0", "dotnet", Processes.QuickstartApp.Value, "bench", "--threads", "2"])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = work,
            };
            using var child = Process.Start(start)!;
            string stdout = child.StandardOutput.ReadToEnd(), stderr = child.StandardError.ReadToEnd();
            Assert.True(child.WaitForExit(120_000));
            Assert.True(child.ExitCode == 1, $"exit {child.ExitCode}\n{stdout}\n{stderr}");
            Assert.Equal("error: --threads = 2 is invalid: must be at most 1, the cores this process may use (its CPU affinity and cgroup quota; Environment.ProcessorCount)",
                stderr.Trim());
        }
        finally { Processes.DeleteQuietly(work); }
    }

    /// <summary>Every training command with --epochs 1 and nothing else of its recipe changed: small data, one thread, a temporary output.</summary>
    public static TheoryData<string, string[]> EpochsOne(string root) => new()
    {
        { "", ["--train-limit", "256", "--eval-limit", "100", "--output", Path.Combine(root, "main")] },
        { "pretrain", ["--train-limit", "256", "--output", Path.Combine(root, "pretrain")] },
        { "finetune", ["--train-limit", "128", "--test-limit", "64", "--output", Path.Combine(root, "finetune")] },
        { "linprobe", ["--train-limit", "512", "--test-limit", "64", "--output", Path.Combine(root, "linprobe")] },
        { "results", ["--train-limit", "256", "--test-limit", "64", "--logs", Path.Combine(root, "results", "logs"), "--doc", Path.Combine(root, "results", "results.md"),
            "--work", Path.Combine(root, "results", "work")] },
        { "ablate", ["masking", "--train-limit", "256", "--test-limit", "64", "--output", Path.Combine(root, "ablate")] },
    };

    [Fact]
    public void The_epochs_1_test_covers_every_command_with_epochs()
    {
        var root = MaeCli.CreateRootCommand();
        var withEpochs = root.Subcommands.Prepend(root).Where(c => c.Options.Any(o => o.Name == "--epochs")).Select(c => c == root ? "" : c.Name).Order();
        Assert.Equal(withEpochs, EpochsOne("/tmp").Select(row => (string)row[0]).Order());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Every_training_command_runs_with_epochs_1_and_its_defaults()
    {
        using var dir = new TempDir();
        foreach (var row in EpochsOne(dir.Path))
        {
            string command = (string)row[0];
            string[] extra = (string[])row[1];
            var r = CliConsole.Run([.. (command.Length > 0 ? new[] { command } : []), "--epochs", "1", "--threads", "1", .. extra]);
            Assert.True(r.ExitCode == 0, $"{command}: {r}");
            Assert.DoesNotContain("error", r.Error);
            if (command is "finetune" or "linprobe")   // the recipe's default warmup (5, 10) is longer than the run: said, not refused
                Assert.Contains("past the run's 1: the lr never finishes its warmup (as the official code)", r.Out);
        }
    }

    [Fact]
    public void A_default_min_lr_follows_a_smaller_lr_typed_and_a_typed_one_that_conflicts_is_named()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "ft");
        string[] tiny = ["finetune", "--model", "tiny", "--train-limit", "64", "--test-limit", "32", "--epochs", "1", "--batch", "32", "--threads", "1", "--no-tensorboard"];
        var r = CliConsole.Run([.. tiny, "--lr", "5e-7", "--output", output]);   // below main_finetune.py's min lr 1e-6
        Assert.True(r.ExitCode == 0, r.ToString());
        var run = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!["run"]!;
        Assert.Equal(5e-7, run["min_lr"]!.GetValue<double>());
        var refused = CliConsole.Run([.. tiny, "--lr", "5e-7", "--min-lr", "1e-6", "--output", Path.Combine(dir.Path, "refused")]);
        Assert.StartsWith("error: --min-lr = 1E-06 is invalid: must be in [0, lr 5E-07] (from --lr)", RunCliFaultTests.AssertOneErrorLine(refused));
    }

    [Fact]
    public void Each_help_text_default_is_the_parsed_default()
    {
        var root = MaeCli.CreateRootCommand();
        var failures = new List<string>();
        foreach (var command in root.Subcommands.Prepend(root))
        {
            var parse = MaeCli.Parse(root, [.. (command == root ? Array.Empty<string>() : [command.Name]),
                .. CliConsole.Required(command, "x")]);
            foreach (var option in command.Options.Where(o => o.Name is not ("--help" or "--version")))
            {
                string? said = option.Description is { } d && Regex.Match(d, @"\(default: ([^)]*)\)") is { Success: true } m ? m.Groups[1].Value : null;
                object? parsed = Parsed(parse, option);
                bool hasDefault = option.HasDefaultValue;
                if (said is not null && hasDefault && !Agrees(said, parsed))
                    failures.Add($"{command.Name} {option.Name}: the text says (default: {said}), the parsed default is {Show(parsed)}");
                if (said is null && !hasDefault && option.ValueType != typeof(bool) && Nullable.GetUnderlyingType(option.ValueType) is null
                    && option.ValueType.IsValueType)
                    failures.Add($"{command.Name} {option.Name}: a {option.ValueType.Name} with no default said or parsed");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    static bool Agrees(string said, object? parsed) => Show(parsed) == said || said.StartsWith(Show(parsed) + " ", StringComparison.Ordinal);

    static string Show(object? value) => value switch
    {
        null => "none",
        double d => d.ToString(CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "none",
    };

    static object? Parsed(ParseResult parse, Option option) => option switch
    {
        Option<int> o => parse.GetValue(o), Option<int?> o => parse.GetValue(o), Option<long> o => parse.GetValue(o), Option<long?> o => parse.GetValue(o),
        Option<double> o => parse.GetValue(o), Option<double?> o => parse.GetValue(o), Option<string> o => parse.GetValue(o),
        Option<bool> o => parse.GetValue(o),
        _ => throw new InvalidOperationException($"{option.Name}: {option.ValueType}"),
    };
}

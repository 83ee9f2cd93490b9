// Faults a user meets at the command line (issue 10), tried through MaeCli.Run in this process: every option out of range,
// a resume with other settings, a .ckpt as --pretrained, evaluate outside a run folder, every exception type. Each checks the
// exit code, that stderr is one `error:` line with no stack frame, and what is left on disk.
using System.Runtime.InteropServices;
using System.CommandLine;
using MaeDsl.Training;

namespace MaeDsl.Cli.Tests.Faults;

[Collection(ConsoleCollection.Name)]
public class RunCliFaultTests
{
    /// <summary>A refusal: a non-zero exit, exactly one line on stderr starting with `error:`, no stack frame or unhandled exception.</summary>
    internal static string AssertOneErrorLine(CliResult r, int exitCode = 1)
    {
        Assert.True(r.ExitCode == exitCode, r.ToString());
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: ", StringComparison.Ordinal), r.ToString());
        AssertNoTrace(r);
        return lines[0];
    }

    internal static void AssertNoTrace(CliResult r)
    {
        Assert.DoesNotContain("Unhandled exception", r.Out + r.Error);
        Assert.DoesNotContain("   at ", r.Out + r.Error);
    }

    static string TinyRun(TempDir dir, params string[] extra)
    {
        string output = Path.Combine(dir.Path, "run");
        var r = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "2", "--batch", "64", "--threads", "1", "--output", output, .. extra]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return output;
    }

    /// <summary>A folder holding one 28×28 grey PNG (the valid --images of embed and predict).</summary>
    static string OneImage(TempDir dir)
    {
        string folder = Path.Combine(dir.Path, "images");
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder);
            using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(28, 28);
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(folder, "one.png"));
        }
        return folder;
    }

    // Out-of-range values of every option that has a range; the options without one are listed below, so that a new option
    // must be placed in one of the two.
    static readonly Dictionary<string, string> Bad = new()
    {
        ["--threads"] = "0", ["--epochs"] = "0", ["--batch"] = "0", ["--accum"] = "0", ["--blr"] = "-1", ["--lr"] = "-1", ["--min-lr"] = "-1",
        ["--warmup-epochs"] = "-1", ["--weight-decay"] = "-1", ["--mask-ratio"] = "1.5", ["--min-crop-scale"] = "0", ["--checkpoint-every"] = "0",
        ["--checkpoint-every-steps"] = "-1", ["--train-limit"] = "0", ["--test-limit"] = "0", ["--eval-limit"] = "0", ["--iterations"] = "0",
        ["--limit"] = "0", ["--split"] = "neither", ["--recipe"] = "neither", ["--allow-change"] = "threads", ["--layer-decay"] = "0",
        ["--drop-path"] = "1", ["--smoothing"] = "1", ["--mixup"] = "-1", ["--cutmix"] = "-1", ["--reprob"] = "2", ["--aa"] = "rand-m9-x1", ["--finetune-aa"] = "augmix-m5", ["--clip-grad"] = "0",
        ["--model"] = "no-such-model", ["--dataset"] = "/no/such/folder", ["--resume"] = "/no/such/run.ckpt", ["--pretrained"] = "/no/such/run.ckpt",
        ["--checkpoint"] = "/no/such/run.ckpt", ["--pretrain-seconds"] = "-1", ["--labelled-limit"] = "0", ["--points"] = "0.5,abc",
        ["--finetune-epochs"] = "0", ["--finetune-batch"] = "0", ["--finetune-warmup"] = "-1", ["--finetune-mixup"] = "-1", ["--finetune-cutmix"] = "-1",
        ["--finetune-reprob"] = "2", ["--finetune-min-crop-scale"] = "0", ["--scratch-layer-decay"] = "0", ["--linprobe-epochs"] = "0",
        ["--linprobe-batch"] = "1", ["--linprobe-lr"] = "0", ["--linprobe-warmup"] = "-1", ["--linprobe-min-crop-scale"] = "0",
        ["--images"] = "/no/such/images", ["--masks-per-image"] = "0", ["--masking"] = "neither", ["--pool"] = "neither", ["--top"] = "0",
        ["--warmup"] = "-1", ["--precision"] = "fp16", ["--gemm-size"] = "0", ["--device"] = "gpu",
    };

    static readonly HashSet<string> NoRange =
    [
        "--seed", "--output", "--data-dir", "--no-tensorboard", "--overwrite", "--cls-token", "--global-pool", "--vit-base-recipe", "--skip-nonfinite",
        "--logs", "--doc", "--work", "--help", "--version",
    ];

    static IEnumerable<(string Command, Option Option)> AllOptions()
    {
        var root = MaeCli.CreateRootCommand();
        foreach (var o in root.Options) yield return ("", o);
        foreach (var c in root.Subcommands)
            foreach (var o in c.Options) yield return (c.Name, o);
    }

    [Fact]
    public void Every_option_of_every_command_has_a_range_check_or_is_listed_without_one()
    {
        var missing = AllOptions().Where(x => !Bad.ContainsKey(x.Option.Name) && !NoRange.Contains(x.Option.Name))
            .Select(x => $"{x.Command} {x.Option.Name}").ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void Every_option_of_the_training_commands_is_classified_for_resume()
    {
        var root = MaeCli.CreateRootCommand();
        var training = root.Subcommands.Where(c => c.Name is "pretrain" or "finetune" or "linprobe").Prepend((Command)root);
        var unclassified = training.SelectMany(c => c.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Select(n => (c.Name, n)))
            .Where(x => x.n.StartsWith("--", StringComparison.Ordinal) && CommandLineClasses.For(x.n) is null).Select(x => $"{x.Item1} {x.n}").ToList();
        Assert.Empty(unclassified);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Every_option_out_of_range_is_refused_before_any_work_in_one_error_line()
    {
        using var dir = new TempDir();
        string run = TinyRun(dir);
        string checkpoint = Path.Combine(run, "checkpoints", "checkpoint-last.ckpt");
        var before = Directory.GetFiles(run, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        var failures = new List<string>();
        foreach (var (command, option) in AllOptions().Where(x => Bad.ContainsKey(x.Option.Name)))
        {
            // ablate allows --finetune-epochs 0 (no fine-tuning): its out-of-range value is below that
            string bad = command == "ablate" && option.Name == "--finetune-epochs" ? "-1" : Bad[option.Name];
            var args = new List<string>();
            if (command.Length > 0) args.Add(command);
            args.AddRange([option.Name, bad]);
            if (command is "evaluate" or "reconstruct" or "embed" or "predict" && option.Name != "--checkpoint") args.AddRange(["--checkpoint", checkpoint]);
            if (command is "embed" or "predict" && option.Name is not ("--images" or "--dataset")) args.AddRange(["--images", OneImage(dir)]);
            if (command == "export-images") args.AddRange(["--output", Path.Combine(dir.Path, "export")]);
            if (command is "" or "pretrain" && option.Name != "--output") args.AddRange(["--output", Path.Combine(dir.Path, "refused")]);
            if (command == "results") args.AddRange(["--work", Path.Combine(dir.Path, "work"), "--logs", Path.Combine(dir.Path, "logs"), "--doc", Path.Combine(dir.Path, "r.md")]);
            if (command == "ablate") args.AddRange(["ratio", "--output", Path.Combine(dir.Path, "sweep")]);
            var r = CliConsole.Run([.. args]);
            var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            bool ok = r.ExitCode == 1 && lines.Length == 1 && lines[0].StartsWith("error: ", StringComparison.Ordinal)
                && (lines[0].Contains(option.Name, StringComparison.Ordinal) || lines[0].Contains(bad, StringComparison.Ordinal))
                && !r.Error.Contains("   at ", StringComparison.Ordinal) && !r.Out.Contains("epoch 1/", StringComparison.Ordinal);
            if (!ok) failures.Add($"{string.Join(' ', args)}: {r}");
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));   // the run on disk is unharmed
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "refused", "checkpoints")));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Resume_with_another_blr_is_refused_listing_it_and_leaves_the_run_unharmed()
    {
        using var dir = new TempDir();
        string run = TinyRun(dir);
        string checkpoint = Path.Combine(run, "checkpoints", "checkpoint-last.ckpt");
        var before = Directory.GetFiles(run, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        var r = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "2", "--batch", "64", "--threads", "1",
            "--resume", checkpoint, "--blr", "0.003", "--mask-ratio", "0.5"]);
        string line = AssertOneErrorLine(r);
        Assert.Contains("--blr: checkpoint 0.0015, this run 0.003", line);
        Assert.Contains("--mask-ratio: checkpoint 0.75, this run 0.5", line);
        Assert.Contains("--allow-change blr,mask-ratio", line);
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));   // config.json, logs and checkpoints untouched

        var data = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "192", "--epochs", "2", "--batch", "64", "--threads", "1", "--resume", checkpoint]);
        Assert.Contains("--train-limit: checkpoint 128, this run 192", AssertOneErrorLine(data));

        var allowed = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "3", "--batch", "64", "--threads", "1",
            "--resume", checkpoint, "--blr", "0.003", "--allow-change", "blr"]);
        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        string history = File.ReadAllText(Path.Combine(run, "history.jsonl"));
        Assert.Contains("\"option\":\"--blr\"", history);
        Assert.Contains("\"option\":\"--epochs\"", history);
    }

    [Fact]
    public void A_ckpt_given_to_pretrained_names_the_safetensors_beside_it()
    {
        using var dir = new TempDir();
        string ckpt = Path.Combine(dir.Path, "checkpoint-0002.ckpt");
        File.WriteAllText(ckpt, "not read");
        foreach (var command in new[] { "finetune", "linprobe" })
        {
            var r = CliConsole.Run([command, "--model", "tiny", "--pretrained", ckpt, "--threads", "1"]);
            string line = AssertOneErrorLine(r);
            Assert.Contains(Path.Combine(dir.Path, "checkpoint-0002.safetensors"), line);
            Assert.DoesNotContain("PyTorch", line);
        }
    }

    [Fact]
    public void Evaluate_of_a_checkpoint_outside_a_run_folder_needs_output_and_a_checkpoint_at_root_fails_first()
    {
        using var dir = new TempDir();
        string loose = Path.Combine(dir.Path, "somewhere", "model.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(loose)!);
        File.WriteAllText(loose, "x");
        var r = CliConsole.Run(["evaluate", "--checkpoint", loose, "--threads", "1"]);
        Assert.Contains("give --output", AssertOneErrorLine(r));
        Assert.Equal(["model.ckpt"], Directory.GetFileSystemEntries(Path.GetDirectoryName(loose)!).Select(Path.GetFileName));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));

        var root = CliConsole.Run(["evaluate", "--checkpoint", "/", "--threads", "1"]);
        Assert.Contains("a folder", AssertOneErrorLine(root));
        Assert.DoesNotContain("k-NN", root.Out);
    }

    [Fact]
    public void Threads_zero_is_refused_by_every_command_that_has_it()
    {
        var root = MaeCli.CreateRootCommand();
        foreach (var command in root.Subcommands.Where(c => c.Options.Any(o => o.Name == "--threads")).Select(c => c.Name).Append(""))
        {
            string[] extra = command switch
            {
                "evaluate" or "reconstruct" => ["--checkpoint", "/no/such/run.ckpt"],
                "embed" or "predict" => ["--checkpoint", "/no/such/run.ckpt", "--images", "/no/such/images"],
                "export-images" => ["--output", Path.Combine(Path.GetTempPath(), "maedsl-never-written")],
                "ablate" => ["ratio", "--output", Path.Combine(Path.GetTempPath(), "maedsl-never-written")],
                _ => [],
            };
            var r = CliConsole.Run([.. (command.Length > 0 ? new[] { command } : []), "--threads", "0", .. extra]);
            Assert.Contains("--threads", AssertOneErrorLine(r));
        }
    }

    public static TheoryData<string, Exception> Exceptions => new()
    {
        { "json", new System.Text.Json.JsonException("'x' is an invalid start of a value. LineNumber: 0") },
        { "format", new FormatException("The input string 'abc' was not in a correct format.") },
        { "overflow", new OverflowException("Value was either too large or too small for an Int32.") },
        { "key", new KeyNotFoundException("The given key 'blocks.0.attn.qkv.weight' was not present in the dictionary.") },
        { "native", new ExternalException("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to allocate 9437184000 bytes.\nException raised from ... frame #0: c10::Error") },
        { "native-other", new ExternalException("shape '[8, 3]' is invalid for input of size 12\nException raised from view at aten/src/ATen/native/TensorShape.cpp\nframe #0: c10::Error::Error") },
        { "aggregate", new AggregateException(new InvalidDataException("broken.png: decoded with 3 channels, the dataset declares 1."), new IOException("second")) },
        { "oom", new OutOfMemoryException("Array dimensions exceeded supported range.") },
        { "bug", new NullReferenceException("Object reference not set to an instance of an object.") },
        { "invalid-op", new InvalidOperationException("Sequence contains no elements") },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public void Every_exception_type_reaching_the_guard_is_one_error_line(string kind, Exception error)
    {
        var root = new RootCommand();
        root.SetAction(_ => OneLineErrors.Guarded(() => throw error));
        var r = CliConsole.Run([], root);
        string line = AssertOneErrorLine(r);
        if (kind == "aggregate") Assert.Contains("broken.png", line);
        if (kind == "native") Assert.Contains("out of memory", line);
        Assert.DoesNotContain("frame #", line);
    }
}

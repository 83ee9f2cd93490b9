// Signals and crashes of a training run (issue 10), tried on the runner as a child process (examples/Quickstart, started
// directly, not through a shell that would ignore SIGINT): SIGTERM mid-epoch (pretrain, finetune, linprobe), SIGINT twice, SIGKILL at a
// seeded step and halfway through a checkpoint write, SIGINT during the main job's evaluation. A resume after each gives the
// uninterrupted run's losses and weights bit for bit. SIGINT during embed: it stops, writing nothing.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using MaeDsl.Training.Loop;
using Xunit.Abstractions;

namespace MaeDsl.Cli.Tests.Faults;

[Collection(ConsoleCollection.Name)]
public class RunSignalFaultTests(ITestOutputHelper log)
{
    // 1024 images at batch 64: 16 iterations per epoch, 48 in all
    static string[] RunArgs(string output) => ["pretrain", "--train-limit", "1024", "--epochs", "3", "--batch", "64", "--threads", "1", "--output", output];

    sealed class Child : IDisposable
    {
        readonly StringBuilder stdout = new(), stderr = new();
        readonly Process process;
        readonly List<(string Text, ManualResetEventSlim Seen)> waits = [];

        public Child(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
        {
            var start = MaeDsl.Tests.Shared.DotnetProcess.WithDefaultSigint(args.Prepend(Processes.QuickstartApp.Value));
            foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
            process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                    foreach (var (text, seen) in waits) if (e.Data.Contains(text, StringComparison.Ordinal)) seen.Set();
                }
            };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        }

        public ManualResetEventSlim WaitFor(string text)
        {
            var seen = new ManualResetEventSlim();
            lock (stdout) waits.Add((text, seen));
            return seen;
        }

        public int Id => process.Id;

        public void Start()
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public void Signal(string name)
        {
            using var kill = Process.Start("kill", [$"-{name}", process.Id.ToString()]);
            kill.WaitForExit();
        }

        public CliResult Finish(TimeSpan timeout)
        {
            if (!process.WaitForExit(timeout)) { process.Kill(entireProcessTree: true); Assert.Fail($"the runner did not exit within {timeout}:\n{this}"); }
            process.WaitForExit();
            lock (stdout) lock (stderr) return new CliResult(process.ExitCode, stdout.ToString(), stderr.ToString());
        }

        public override string ToString() { lock (stdout) lock (stderr) return $"{stdout}\n--- stderr\n{stderr}"; }

        public void Dispose()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }

    CliResult RunToEnd(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var child = new Child(args, environment);
        child.Start();
        var r = child.Finish(TimeSpan.FromMinutes(5));
        log.WriteLine($"$ {string.Join(' ', args)}\n{r}");
        return r;
    }

    /// <summary>Runs the runner with <paramref name="args"/>, sends <paramref name="signal"/> once its stdout shows <paramref name="seen"/>, and waits for it to exit.</summary>
    CliResult SignalWhenSeen(string[] args, string seen, string signal, TimeSpan finish, IReadOnlyDictionary<string, string>? environment = null)
    {
        CliResult r;
        using (var child = new Child(args, environment))
        {
            var shown = child.WaitFor(seen);
            child.Start();
            Assert.True(shown.Wait(TimeSpan.FromMinutes(3)), child.ToString());
            child.Signal(signal);
            r = child.Finish(finish);
        }
        log.WriteLine(r.ToString());
        return r;
    }

    /// <summary>The uninterrupted run of <paramref name="runArgs"/> that an interrupted one is compared with.</summary>
    static Lazy<string> ReferenceRun(Func<string, string[]> runArgs) => new(() =>
    {
        string output = Processes.TempDirectory("maedsl-fault-reference");
        using var child = new Child(runArgs(output));
        child.Start();
        var r = child.Finish(TimeSpan.FromMinutes(5));
        Assert.True(r.ExitCode == 0, r.ToString());
        return output;
    });

    static readonly Lazy<string> Reference = ReferenceRun(RunArgs);

    // fine-tuning and linear probing of the reference's final weights: 512 images at batch 32, 16 iterations per epoch, 32 in all
    static string[] ClassifierArgs(string command, string output) =>
        [command, "--pretrained", Path.Combine(Reference.Value, "checkpoints", "checkpoint-0002.safetensors"), "--train-limit", "512", "--test-limit", "128",
         "--epochs", "2", "--warmup-epochs", "1", "--batch", "32", "--threads", "1", "--output", output];
    static string[] FineTuneArgs(string output) => ClassifierArgs("finetune", output);
    static string[] LinProbeArgs(string output) => ClassifierArgs("linprobe", output);
    static readonly Lazy<string> FineTuneReference = ReferenceRun(FineTuneArgs), LinProbeReference = ReferenceRun(LinProbeArgs);

    /// <summary>Same losses (bits) at every step, the same evaluations (eval.csv but its seconds) and the same final weights
    /// (the tensor bytes of the last epoch's .safetensors).</summary>
    static void AssertSameRun(string expected, string actual, int lastEpoch = 2)
    {
        var a = TrainingLog.ReadCsv(Path.Combine(expected, TrainingLog.CsvFileName));
        var b = TrainingLog.ReadCsv(Path.Combine(actual, TrainingLog.CsvFileName));
        Assert.Equal(a.Select(m => m.Step), b.Select(m => m.Step));
        foreach (var (x, y) in a.Zip(b))
            Assert.True(BitConverter.SingleToInt32Bits(x.Loss) == BitConverter.SingleToInt32Bits(y.Loss), $"step {x.Step}: {x.Loss:R} vs {y.Loss:R}");
        string weights = $"checkpoint-{lastEpoch:D4}.safetensors";
        Assert.Equal(TensorBytes(Path.Combine(expected, "checkpoints", weights)), TensorBytes(Path.Combine(actual, "checkpoints", weights)));
        static IEnumerable<string> WithoutSeconds(string dir) =>
            File.Exists(Path.Combine(dir, EvalLog.CsvFileName))
                ? File.ReadAllLines(Path.Combine(dir, EvalLog.CsvFileName)).Select(l => string.Join(',', l.Split(',').SkipLast(1)))
                : [];
        Assert.Equal(WithoutSeconds(expected), WithoutSeconds(actual));
    }

    static byte[] TensorBytes(string safetensors)
    {
        var bytes = File.ReadAllBytes(safetensors);
        long header = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        return bytes[(int)(8 + header)..];   // the header's metadata names the run folder; the tensors follow it
    }

    static void AssertNoTrace(CliResult r) => RunCliFaultTests.AssertNoTrace(r);

    [Fact]
    [Trait("Category", "Slow")]
    public void Sigterm_mid_epoch_writes_a_checkpoint_prints_the_resume_command_exits_143_and_the_resume_is_bit_identical() =>
        SigtermMidEpochThenResume(RunArgs, Reference, lastEpoch: 2);

    [Fact]
    [Trait("Category", "Slow")]
    public void Finetune_sigterm_mid_epoch_writes_a_checkpoint_prints_the_resume_command_exits_143_and_the_resume_is_bit_identical() =>
        SigtermMidEpochThenResume(FineTuneArgs, FineTuneReference, lastEpoch: 1);

    [Fact]
    [Trait("Category", "Slow")]
    public void Linprobe_sigterm_mid_epoch_writes_a_checkpoint_prints_the_resume_command_exits_143_and_the_resume_is_bit_identical() =>
        SigtermMidEpochThenResume(LinProbeArgs, LinProbeReference, lastEpoch: 1);

    /// <summary>SIGTERM once checkpoint-last is written after iteration 20 (inside epoch 2 of 16 iterations): the run stops at a
    /// step with a mid-epoch checkpoint, two lines (where, and the command that resumes), exit 143; that command, run as printed,
    /// ends as the uninterrupted run.</summary>
    void SigtermMidEpochThenResume(Func<string, string[]> runArgs, Lazy<string> referenceRun, int lastEpoch)
    {
        string reference = referenceRun.Value;
        string output = Processes.TempDirectory("maedsl-fault-sigterm");
        string[] args = [.. runArgs(output), "--checkpoint-every-steps", "20"];
        var stopped = SignalWhenSeen(args, "iteration 20: checkpoint", "TERM", TimeSpan.FromMinutes(2));   // inside epoch 2 (iterations 16..31)
        Assert.Equal(143, stopped.ExitCode);
        AssertNoTrace(stopped);
        var lines = stopped.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);
        string last = Path.Combine(output, "checkpoints", "checkpoint-last.ckpt");
        Assert.StartsWith("stopped (SIGTERM) at iteration ", lines[0]);
        Assert.EndsWith($"checkpoint {last}", lines[0]);
        Assert.StartsWith("resume: dotnet ", lines[1]);
        Assert.EndsWith($"--resume {last}", lines[1]);
        var info = MaeDsl.Checkpoints.CheckpointStore.ReadInfo(last);
        Assert.True(info.MidEpoch && info.Epoch == 0, $"epoch {info.Epoch}, step {info.StepInEpoch}: not inside epoch 2");

        // the command it printed, as printed
        var resumeArgs = lines[1]["resume: dotnet ".Length..].Split(' ').Skip(1);
        var resumed = RunToEnd(resumeArgs);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        AssertNoTrace(resumed);
        AssertSameRun(reference, output, lastEpoch);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Sigkill_at_a_seeded_step_after_a_mid_epoch_checkpoint_then_resume_gives_the_same_weights_bit_for_bit()
    {
        string reference = Reference.Value;
        string output = Processes.TempDirectory("maedsl-fault-sigkill");
        string[] args = [.. RunArgs(output), "--checkpoint-every-steps", "5"];
        // checkpoints after iterations 5, 10, 15, 16 (epoch end), 20, 25; killed after iteration 27, between two steps
        var killed = RunToEnd(args, new Dictionary<string, string> { [FaultHooks.KillAtStepVariable] = "27" });
        Assert.Equal(137, killed.ExitCode);   // 128 + SIGKILL
        string last = Path.Combine(output, "checkpoints", "checkpoint-last.ckpt");
        var info = MaeDsl.Checkpoints.CheckpointStore.ReadInfo(last);
        Assert.Equal((0, 9, 25L), (info.Epoch, info.StepInEpoch, info.GlobalStep));
        Assert.Empty(Directory.GetFiles(Path.Combine(output, "checkpoints"), "*.tmp*"));

        var resumed = RunToEnd([.. args, "--resume", last]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        AssertNoTrace(resumed);
        Assert.Contains("resumed from", resumed.Out);
        AssertSameRun(reference, output);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Sigkill_halfway_through_a_checkpoint_write_leaves_its_temporary_file_the_previous_checkpoint_resumes_and_the_temporary_file_is_refused()
    {
        string reference = Reference.Value;
        long size = new FileInfo(Path.Combine(reference, "checkpoints", "checkpoint-last.ckpt")).Length;
        string output = Processes.TempDirectory("maedsl-fault-kill-write");
        string[] args = [.. RunArgs(output), "--checkpoint-every-steps", "5"];
        // checkpoint-last after iteration 5 is written whole; the process kills itself halfway through the one after iteration 10
        var killed = RunToEnd(args, new Dictionary<string, string>
        {
            [MaeDsl.IO.AtomicFile.KillAfterBytesVariable] = (size + size / 2).ToString(System.Globalization.CultureInfo.InvariantCulture),
            [MaeDsl.IO.AtomicFile.KillFileVariable] = "checkpoint-last.ckpt",
        });
        Assert.Equal(137, killed.ExitCode);   // 128 + SIGKILL
        Assert.Equal(10, TrainingLog.ReadCsv(Path.Combine(output, TrainingLog.CsvFileName)).Count);   // it died inside the write after iteration 10
        string checkpoints = Path.Combine(output, "checkpoints"), last = Path.Combine(checkpoints, "checkpoint-last.ckpt");
        string temp = Assert.Single(Directory.GetFiles(checkpoints, "*.tmp"));
        Assert.StartsWith("checkpoint-last.ckpt.", Path.GetFileName(temp));
        Assert.True(MaeDsl.IO.AtomicFile.IsTemporary(temp), temp);
        Assert.InRange(new FileInfo(temp).Length, size / 4, size - 1);   // cut halfway
        var info = MaeDsl.Checkpoints.CheckpointStore.ReadInfo(last);   // the previous checkpoint, whole
        Assert.True(info.MidEpoch && info.GlobalStep == 5 && info.StepInEpoch == 5, $"epoch {info.Epoch}, step {info.StepInEpoch}, iteration {info.GlobalStep}");
        byte[] lastBytes = File.ReadAllBytes(last);

        // the temporary file given to --resume: one line before any work; nothing on disk changes
        var refused = RunToEnd([.. args, "--resume", temp]);
        Assert.Equal(1, refused.ExitCode);
        AssertNoTrace(refused);
        string line = Assert.Single(refused.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: --resume = ", line);
        Assert.Contains("temporary file of an interrupted write", line);
        Assert.DoesNotContain("epoch 1/3", refused.Out);
        Assert.Equal(lastBytes, File.ReadAllBytes(last));
        Assert.True(File.Exists(temp));

        // checkpoint-last is the real checkpoint: the resume starts at iteration 5, removes the orphan, ends as the uninterrupted run
        var resumed = RunToEnd([.. args, "--resume", last]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        AssertNoTrace(resumed);
        Assert.Contains($"resumed from {last} at epoch 1, iteration 5", resumed.Out);
        Assert.Empty(Directory.GetFiles(checkpoints, "*.tmp"));
        AssertSameRun(reference, output);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Sigint_during_the_main_jobs_evaluation_exits_130_with_one_line_naming_the_kept_checkpoint_and_the_evaluate_command()
    {
        string output = Processes.TempDirectory("maedsl-fault-mainjob-eval");
        // the main job (no command): 4 iterations of pre-training, then k-NN and MSE on 2000 + 2000 images
        string[] args = ["--train-limit", "256", "--epochs", "1", "--batch", "64", "--threads", "1", "--eval-limit", "2000", "--output", output];
        string checkpoints = Path.Combine(output, "checkpoints"), checkpoint = Path.Combine(checkpoints, "checkpoint-0000.ckpt");
        CliResult r;
        Dictionary<string, byte[]> before;
        using (var child = new Child(args))
        {
            var evaluating = child.WaitFor("k-NN: memory bank");
            child.Start();
            Assert.True(evaluating.Wait(TimeSpan.FromMinutes(3)), child.ToString());
            before = Directory.GetFiles(checkpoints).ToDictionary(f => f, File.ReadAllBytes);   // pre-training's files, all written
            child.Signal("INT");
            r = child.Finish(TimeSpan.FromMinutes(1));
        }
        log.WriteLine(r.ToString());
        Assert.Equal(130, r.ExitCode);
        AssertNoTrace(r);
        Assert.DoesNotContain("knn_accuracy", r.Out);
        string line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"stopped (SIGINT) during the evaluation: pre-training is complete, its checkpoint {checkpoint} is kept; run the evaluation alone with: dotnet ", line);
        Assert.EndsWith($"evaluate --checkpoint {checkpoint} --dataset fashion-mnist --eval-limit 2000 --threads 1 --precision {PrecisionCommandTests.RecordedPrecision(output)} --device cpu", line);   // the run's --precision auto and device, as they ran
        Assert.False(File.Exists(Path.Combine(output, "results.json")));
        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
        var info = MaeDsl.Checkpoints.CheckpointStore.ReadInfo(checkpoint);
        Assert.Equal((0, 4L), (info.Epoch, info.GlobalStep));

        // the command it printed, as printed: the evaluation alone, into the run folder, the checkpoints untouched
        var evaluate = RunToEnd(line[(line.IndexOf("with: dotnet ", StringComparison.Ordinal) + "with: dotnet ".Length)..].Split(' ').Skip(1));
        Assert.True(evaluate.ExitCode == 0, evaluate.ToString());
        AssertNoTrace(evaluate);
        Assert.Contains("knn_accuracy pretrained=", evaluate.Out);
        Assert.True(File.Exists(Path.Combine(output, "results.json")));
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(checkpoints).Order());
        foreach (var (file, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(file)), $"{file} changed");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_second_sigint_exits_at_once_with_one_line()
    {
        string output = Processes.TempDirectory("maedsl-fault-sigint2");
        // batch 512: a step long enough (about a second) for both signals to arrive inside it
        string[] args = ["pretrain", "--train-limit", "4096", "--epochs", "3", "--batch", "512", "--threads", "1", "--output", output];
        CliResult r;
        using (var child = new Child(args))
        {
            var running = child.WaitFor("epoch 1/3 step 1/8");
            child.Start();
            Assert.True(running.Wait(TimeSpan.FromMinutes(3)), child.ToString());
            child.Signal("INT");
            Thread.Sleep(100);
            child.Signal("INT");
            r = child.Finish(TimeSpan.FromSeconds(30));
        }
        log.WriteLine(r.ToString());
        Assert.Equal(130, r.ExitCode);
        AssertNoTrace(r);
        Assert.Equal("stopped at once (SIGINT again): the last checkpoint written is the resume point", r.Error.Trim());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Sigint_during_embed_stops_after_the_batch_and_leaves_no_file_not_even_a_partial_one()
    {
        string checkpoint = Path.Combine(Reference.Value, "checkpoints", "checkpoint-last.ckpt");
        string folder = Processes.TempDirectory("maedsl-fault-embed-sigint"), output = Path.Combine(folder, "features.npy");
        // Fashion-MNIST's 60,000 training images at batch 8: far longer than the signal takes to arrive
        string[] args = ["embed", "--checkpoint", checkpoint, "--batch", "8", "--threads", "1", "--output", output];
        var r = SignalWhenSeen(args, "embedded ", "INT", TimeSpan.FromSeconds(60));
        Assert.Equal(130, r.ExitCode);
        AssertNoTrace(r);
        Assert.Contains("SIGINT: stopping embed after the current batch; nothing is written", r.Out);
        Assert.Equal($"stopped (SIGINT): nothing written: embed writes {output} and its index only once every image is done", r.Error.Trim());
        Assert.DoesNotContain("resume point", r.Error);
        Assert.Empty(Directory.GetFileSystemEntries(folder));   // no features.npy, no index, no temporary file
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Sighup_mid_epoch_is_handled_as_sigterm_a_checkpoint_the_resume_command_and_exit_129()
    {
        string output = Processes.TempDirectory("maedsl-fault-sighup");
        string[] args = [.. RunArgs(output), "--checkpoint-every-steps", "20"];
        var r = SignalWhenSeen(args, "iteration 20: checkpoint", "HUP", TimeSpan.FromMinutes(2));
        Assert.Equal(129, r.ExitCode);
        AssertNoTrace(r);
        Assert.Contains("SIGHUP: finishing the current step, then writing a checkpoint", r.Out);
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("stopped (SIGHUP) at iteration ", lines[0]);
        // the checkpoint written where it stopped: checkpoint-last inside an epoch, the epoch's numbered one at its boundary
        string last = Assert.Single(Regex.Matches(lines[1], @"--resume (\S+checkpoint-(last|\d{4})\.ckpt)$")).Groups[1].Value;
        Assert.StartsWith(Path.Combine(output, "checkpoints"), last);
        Assert.True(MaeDsl.Checkpoints.CheckpointStore.ReadInfo(last).GlobalStep >= 20);
        Assert.False(File.Exists(Path.Combine(output, RunFolder.LockFileName)), "the lock is released");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Sigint_before_the_first_checkpoint_says_nothing_was_trained_and_keeps_nothing()
    {
        string output = Path.Combine(Processes.TempDirectory("maedsl-fault-early-sigint"), "run");
        // the run holds before its first step until the signal arrives: on a fast machine (or with the precision already
        // calibrated) the first step would otherwise start before the signal lands
        string[] args = ["pretrain", "--train-limit", "4096", "--epochs", "1", "--batch", "512", "--threads", "1", "--output", output];
        var r = SignalWhenSeen(args, FaultHooks.HoldingLine, "INT", TimeSpan.FromMinutes(1),
            new Dictionary<string, string> { [FaultHooks.HoldBeforeFirstStepVariable] = "1" });
        Assert.Equal(130, r.ExitCode);
        AssertNoTrace(r);
        Assert.Equal("stopped (SIGINT) before the first step: nothing was trained and nothing is kept (no checkpoint was written yet)", r.Error.Trim());
        Assert.DoesNotContain("resume point", r.Error);
        Assert.False(Directory.Exists(output), "the folder the run made is removed: nothing is kept");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_second_run_into_the_folder_of_a_running_one_is_refused_naming_its_pid()
    {
        string output = Processes.TempDirectory("maedsl-fault-two-writers");
        using var first = new Child(RunArgs(output));
        var running = first.WaitFor("epoch 1/3 step");
        first.Start();
        Assert.True(running.Wait(TimeSpan.FromMinutes(3)), first.ToString());
        var second = RunToEnd([.. RunArgs(output), "--seed", "2"]);
        string line = RunCliFaultTests.AssertOneErrorLine(second);
        Assert.Contains($"is being written by process {first.Id}", line);
        Assert.Equal($"{first.Id}\n", File.ReadAllText(Path.Combine(output, RunFolder.LockFileName)));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Sigterm_during_export_images_leaves_whole_files_of_every_class_says_it_is_partial_and_no_tmp()
    {
        string folder = Processes.TempDirectory("maedsl-fault-export"), output = Path.Combine(folder, "export");
        CliResult r;
        using (var child = new Child(["export-images", "--output", output]))   // all 60,000 training images: minutes
        {
            child.Start();
            var clock = Stopwatch.StartNew();
            while (!(Directory.Exists(output) && Directory.EnumerateFiles(output, "*.png", SearchOption.AllDirectories).Take(200).Count() == 200))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), child.ToString());
                Thread.Sleep(50);
            }
            child.Signal("TERM");
            r = child.Finish(TimeSpan.FromMinutes(1));
        }
        log.WriteLine(r.ToString());
        Assert.Equal(143, r.ExitCode);
        AssertNoTrace(r);
        var pngs = Directory.GetFiles(output, "*.png", SearchOption.AllDirectories);
        Assert.Contains($"stopped (SIGTERM): the export is partial: {pngs.Length} of 60000 images in {output}", r.Error);
        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
        var back = DataSources.Open(output, null, 28, 1);   // a valid ImageFolder: every class folder holds whole PNGs
        Assert.Equal(pngs.Length, back.Train.Count);
        Assert.Equal(10, back.Train.NumClasses);
        var counts = Enumerable.Range(0, back.Train.Count).GroupBy(back.Train.GetLabel).Select(g => g.Count()).ToArray();
        Assert.True(counts.Max() - counts.Min() <= 1, string.Join(",", counts));   // the classes in turn
        foreach (var png in pngs.Take(50)) MaeDsl.Data.ImageFolder.Decode(png, 1);
    }
}

// Runs and files never overwritten or mixed (issue 19, class 2), and the CLI's messages that pointed the wrong way (class 9), tried
// through MaeCli.Run in this process: a second run into a run's folder, a lock held by a live or a dead process, unique default
// folders, outputs that are the command's own input or a file of another kind, an export into a non-empty folder, and the
// one-line refusals of .NET-worded errors. Each checks the exit code, the one `error:` line and what is left on disk.
using System.Diagnostics;

namespace MaeDsl.Cli.Tests.Faults;

[Collection(ConsoleCollection.Name)]
public class RunFolderFaultTests
{
    static string AssertOneErrorLine(CliResult r) => RunCliFaultTests.AssertOneErrorLine(r);

    /// <summary>A 2-epoch pre-training of 128 images (2 iterations an epoch) into <paramref name="output"/>; <paramref name="extra"/> may set --epochs.</summary>
    static string[] Tiny(string output, params string[] extra) =>
        ["pretrain", "--model", "tiny", "--train-limit", "128", "--batch", "64", "--threads", "1", "--output", output, .. extra,
         .. extra.Contains("--epochs") ? Array.Empty<string>() : ["--epochs", "2"]];

    static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

    [Fact]
    [Trait("Category", "Slow")]
    public void A_new_run_into_a_folder_holding_a_run_is_refused_unless_resume_or_overwrite_and_overwrite_leaves_only_the_new_run()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Assert.Equal(0, CliConsole.Run(Tiny(run, "--seed", "1")).ExitCode);
        var before = Snapshot(run);

        string line = AssertOneErrorLine(CliConsole.Run(Tiny(run, "--seed", "2")));
        Assert.Contains($"--output {run} already holds a run", line);
        Assert.Contains("--resume", line);
        Assert.Contains("--overwrite", line);
        Assert.Equal(before.Keys.Order(), Snapshot(run).Keys.Order());
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));   // checkpoints, logs and config untouched

        var replaced = CliConsole.Run(Tiny(run, "--seed", "2", "--epochs", "1", "--overwrite"));
        Assert.True(replaced.ExitCode == 0, replaced.ToString());
        Assert.Contains("--overwrite: removed the earlier run's", replaced.Out);
        // nothing of the 2-epoch seed-1 run is left: one epoch's log, every checkpoint of seed 2
        Assert.Equal(new long[] { 0, 1 }, MaeDsl.Training.Loop.TrainingLog.ReadCsv(Path.Combine(run, "metrics.csv")).Select(m => m.Step));
        foreach (var ckpt in Directory.GetFiles(Path.Combine(run, "checkpoints"), "*.ckpt"))
            Assert.Equal(2, MaeDsl.Training.RunConfig.Parse(MaeDsl.Checkpoints.CheckpointStore.ReadInfo(ckpt).Config, ckpt).Run.Seed);
        Assert.Equal(2, MaeDsl.Training.RunConfig.Read(Path.Combine(run, "config.json")).Run.Seed);
        Assert.False(File.Exists(Path.Combine(run, RunFolder.LockFileName)), "the lock is released at the end");
    }

    [Fact]
    public void A_folder_locked_by_a_live_process_is_refused_naming_its_pid_and_a_dead_ones_lock_is_taken_over()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Directory.CreateDirectory(run);
        string lockFile = Path.Combine(run, RunFolder.LockFileName);
        using (var holder = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!)
        {
            File.WriteAllText(lockFile, $"{holder.Id}\n");
            foreach (var args in new[] { Tiny(run), ["finetune", "--model", "tiny", "--threads", "1", "--output", run] })
            {
                string line = AssertOneErrorLine(CliConsole.Run(args));
                Assert.Contains($"is being written by process {holder.Id}", line);
            }
            Assert.Equal($"{holder.Id}\n", File.ReadAllText(lockFile));   // the holder's lock is left alone
            holder.Kill();
            holder.WaitForExit();
            var taken = CliConsole.Run(Tiny(run, "--epochs", "1"));
            Assert.True(taken.ExitCode == 0, taken.ToString());
            Assert.Contains($"was left by process {holder.Id}, which no longer runs", taken.Out);
            Assert.Contains("lock taken over", taken.Out);
        }
        Assert.False(File.Exists(lockFile));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Finetune_and_linprobe_default_to_a_new_folder_per_run_and_evaluate_refuses_their_checkpoint_as_embed_words_it()
    {
        using var dir = new TempDir();
        string previous = Environment.CurrentDirectory;
        Environment.CurrentDirectory = dir.Path;
        try
        {
            var outputs = new List<string>();
            foreach (var command in new[] { "finetune", "finetune", "linprobe" })
            {
                var r = CliConsole.Run([command, "--model", "tiny", "--train-limit", "64", "--test-limit", "32", "--epochs", "1", "--warmup-epochs", "0",
                    "--batch", "32", "--threads", "1", "--no-tensorboard"]);
                Assert.True(r.ExitCode == 0, r.ToString());
                string logs = r.OutLines.Single(l => l.StartsWith("final top-1", StringComparison.Ordinal)).Split("logs in ")[1];
                Assert.StartsWith(Path.Combine(dir.Path, "runs", $"tiny-{command}-"), logs);
                outputs.Add(logs);
            }
            Assert.Equal(3, outputs.Distinct().Count());
            foreach (var o in outputs) Assert.True(File.Exists(Path.Combine(o, "checkpoints", "checkpoint-last.ckpt")), o);

            string classifier = Path.Combine(outputs[0], "checkpoints", "checkpoint-last.ckpt");
            string evaluate = AssertOneErrorLine(CliConsole.Run(["evaluate", "--checkpoint", classifier, "--threads", "1"]));
            string embed = AssertOneErrorLine(CliConsole.Run(["embed", "--checkpoint", classifier, "--threads", "1", "--output", Path.Combine(dir.Path, "f.npy")]));
            Assert.DoesNotContain("not a registered model", evaluate);
            Assert.Contains("holds a fine-tuned classifier (VitClassifier/finetune); evaluate needs a pre-training checkpoint", evaluate);
            Assert.Contains("holds a fine-tuned classifier (VitClassifier/finetune); embed needs a pre-training checkpoint", embed);
        }
        finally { Environment.CurrentDirectory = previous; }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void No_command_writes_over_its_own_input_a_file_of_another_kind_or_under_a_wrong_extension()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Assert.Equal(0, CliConsole.Run(Tiny(run)).ExitCode);
        string ckpt = Path.Combine(run, "checkpoints", "checkpoint-last.ckpt"), weights = Directory.GetFiles(Path.Combine(run, "checkpoints"), "checkpoint-0*.safetensors").Order().Last();
        string metrics = Path.Combine(run, "metrics.csv");
        string otherWeights = Path.Combine(dir.Path, "other.safetensors");
        File.Copy(weights, otherWeights);
        var before = Snapshot(run);
        var cases = new (string[] Args, string Expected)[]
        {
            (["embed", "--checkpoint", weights, "--output", weights], "is the command's own --checkpoint"),
            (["embed", "--checkpoint", weights, "--output", otherWeights], "exists and is not a features .safetensors"),
            (["predict", "--checkpoint", ckpt, "--output", ckpt], "this command writes a CSV, so the name must end with .csv, not .ckpt"),
            (["predict", "--checkpoint", ckpt, "--output", metrics], "exists and is not a predictions CSV"),
            (["reconstruct", "--checkpoint", ckpt, "--output", metrics], "this command writes a PNG, so the name must end with .png, not .csv"),
            (["reconstruct", "--checkpoint", ckpt, "--output", Path.Combine(dir.Path, "r.jpg")], "must end with .png, not .jpg"),
        };
        foreach (var (args, expected) in cases)
        {
            string line = AssertOneErrorLine(CliConsole.Run([.. args, "--threads", "1"]));
            Assert.Contains("--output", line);
            Assert.Contains(expected, line);
        }
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
        Assert.Equal(File.ReadAllBytes(weights), File.ReadAllBytes(otherWeights));
        Assert.False(File.Exists(Path.Combine(dir.Path, "r.jpg")));

        // predict with a pre-training checkpoint suggests the weights file finetune takes, not the .ckpt it refuses
        string suggestion = AssertOneErrorLine(CliConsole.Run(["predict", "--checkpoint", ckpt, "--output", Path.Combine(dir.Path, "p.csv"), "--threads", "1"]));
        string suggested = suggestion.Split("finetune --pretrained ")[1].TrimEnd(')');
        Assert.EndsWith(".safetensors", suggested);
        Assert.True(File.Exists(suggested), suggestion);

        // an export into a non-empty folder is refused and adds nothing
        string export = Path.Combine(dir.Path, "export");
        Directory.CreateDirectory(export);
        File.WriteAllText(Path.Combine(export, "keep.txt"), "mine");
        string exportLine = AssertOneErrorLine(CliConsole.Run(["export-images", "--model", "tiny", "--limit", "10", "--output", export]));
        Assert.Contains("is not empty (1 entries)", exportLine);
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(export).Select(f => Path.GetFileName(f)!));
    }

    [Fact]
    public void Values_dotnet_words_are_refused_in_one_line_naming_the_option_and_what_was_expected()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "run");
        var cases = new (string[] Args, string[] Expected)[]
        {
            (Tiny(output, "--epochs", "1e9"), ["--epochs '1e9' is not a whole number from -2147483648 to 2147483647", "write it in digits, 1000000000"]),
            (Tiny(output, "--seed", "99999999999999999999"), ["--seed '99999999999999999999' is not a whole number from"]),
            (Tiny(output, "--blr", "abc"), ["--blr 'abc' is not a number"]),
            (["pretrain", "--model", "tiny", "--train-limit", "1", "--batch", "100000", "--threads", "1", "--output", output],
                ["--batch 100000 is more than the 1 training images (--train-limit 1)", "use --batch 1 or less"]),
            (Tiny(output, "--mask-ratio", "0.979591836735"), ["0.979591836735", "a ratio of at most 0.979591836734 would leave one"]),
            (Tiny("/proc/maedsl-no-such-folder"), ["--output /proc/maedsl-no-such-folder: cannot create this folder in /proc"]),
            (["export-images", "--model", "tiny", "--limit", "10", "--output", "/proc/maedsl-no-such-folder"], ["--output /proc/maedsl-no-such-folder: cannot create this folder"]),
            (["bench", "--model", "tiny", "--gemm-size", "100000", "--threads", "1"], ["--gemm-size 100000", "lower --gemm-size"]),
        };
        foreach (var (args, expected) in cases)
        {
            string line = AssertOneErrorLine(CliConsole.Run(args));
            foreach (var e in expected) Assert.Contains(e, line);
            foreach (var dotnet in new[] { "System.", "(Parameter '", "BatchLoader", "Access to the path", "Could not find", "lower --batch" })
                Assert.DoesNotContain(dotnet, line);
        }
        Assert.False(Directory.Exists(output), "no folder is left by a refused run");
    }

    [Fact]
    public void The_progress_line_keeps_the_days_of_a_long_eta()
    {
        Assert.Equal("4d 09:51:26", MaeDsl.Training.Loop.TrainingLog.Duration(new TimeSpan(4, 9, 51, 26)));
        Assert.Equal("09:51:26", MaeDsl.Training.Loop.TrainingLog.Duration(new TimeSpan(0, 9, 51, 26)));
        Assert.Equal("1d 00:00:00", MaeDsl.Training.Loop.TrainingLog.Duration(TimeSpan.FromDays(1)));
    }
}

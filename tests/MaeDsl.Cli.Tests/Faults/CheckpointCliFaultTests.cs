// Damaged checkpoints and special files at the command line (issue 19, classes 4 and 6): every command that loads a
// checkpoint (resume, evaluate, embed, reconstruct, predict, finetune --pretrained) refuses a damaged or cut one in one
// `error:` line naming the file (and the tensor), and a FIFO given for any file it reads is refused without opening it.
// Also embed on a full disk (issue 19, class 8): one line, no temporary .npy left.
using MaeDsl.Checkpoints;

namespace MaeDsl.Cli.Tests.Faults;

[Collection(ConsoleCollection.Name)]
public class CheckpointCliFaultTests(PretrainedRunFixture run) : IClassFixture<PretrainedRunFixture>
{
    /// <summary>A copy of the fixture's run folder (config.json, checkpoints) to damage.</summary>
    string CopyRun(TempDir dir)
    {
        Assert.True(run.Pretrain.ExitCode == 0, run.Pretrain.ToString());
        string copy = Path.Combine(dir.Path, "run");
        foreach (var file in Directory.GetFiles(run.Output, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(copy, Path.GetRelativePath(run.Output, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return copy;
    }

    // The offset of a weight tensor's bytes in the file (written as they are in memory) and its name.
    static (int Offset, string Name) LargestTensor(string checkpoint)
    {
        using var model = CommonOptions.Resolve("tiny").Create(0, null);
        CheckpointStore.LoadModel(checkpoint, model);
        var (name, tensor) = model.state_dict().MaxBy(kv => kv.Value.NumberOfElements);
        int at = File.ReadAllBytes(checkpoint).AsSpan().IndexOf(tensor.bytes.ToArray());
        Assert.True(at > 0, $"{name} is not in {checkpoint}");
        return (at, name);
    }

    static void Damage(string path, long offset, int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        using var f = File.OpenWrite(path);
        f.Position = offset;
        f.Write(bytes);
    }

    static CliResult[] ModelOnlyLoads(string checkpoint, TempDir dir) =>
    [
        CliConsole.Run(["evaluate", "--checkpoint", checkpoint, "--threads", "1", "--eval-limit", "20", "--output", Path.Combine(dir.Path, "eval")]),
        CliConsole.Run(["embed", "--checkpoint", checkpoint, "--threads", "1", "--limit", "4", "--output", Path.Combine(dir.Path, "f.npy")]),
        CliConsole.Run(["reconstruct", "--checkpoint", checkpoint, "--threads", "1", "--output", Path.Combine(dir.Path, "r.png")]),
    ];

    [Fact]
    public void Sixteen_random_bytes_in_the_weights_are_refused_by_every_model_only_load_naming_the_file_and_tensor()
    {
        using var dir = new TempDir();
        string checkpoint = Path.Combine(CopyRun(dir), "checkpoints", "checkpoint-last.ckpt");
        var (at, name) = LargestTensor(checkpoint);
        Damage(checkpoint, at + 256, 16, 1);
        foreach (var r in ModelOnlyLoads(checkpoint, dir))
        {
            string line = RunCliFaultTests.AssertOneErrorLine(r);
            Assert.Contains(checkpoint, line);
            Assert.Contains($"tensor '{name}'", line);
            Assert.Contains("checksum", line);
        }
        Assert.False(File.Exists(Path.Combine(dir.Path, "f.npy")));
        Assert.False(File.Exists(Path.Combine(dir.Path, "r.png")));
    }

    [Fact]
    public void The_first_half_of_a_checkpoint_is_refused_by_every_model_only_load()
    {
        using var dir = new TempDir();
        string checkpoint = Path.Combine(CopyRun(dir), "checkpoints", "checkpoint-last.ckpt");
        var bytes = File.ReadAllBytes(checkpoint);
        File.WriteAllBytes(checkpoint, bytes[..(bytes.Length / 2)]);
        foreach (var r in ModelOnlyLoads(checkpoint, dir))
        {
            string line = RunCliFaultTests.AssertOneErrorLine(r);
            Assert.Contains(checkpoint, line);
            Assert.Contains("truncated", line);
        }
    }

    [Fact]
    public void One_kib_of_random_bytes_in_the_optimizer_state_is_refused_by_resume_before_any_step()
    {
        using var dir = new TempDir();
        string output = CopyRun(dir);
        string checkpoint = Path.Combine(output, "checkpoints", "checkpoint-last.ckpt");
        long length = new FileInfo(checkpoint).Length;
        Damage(checkpoint, length * 3 / 4, 1024, 2);   // the optimizer's moments are the last two thirds of the file
        var metrics = File.ReadAllText(Path.Combine(output, "metrics.csv"));
        var r = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "2", "--batch", "64",
            "--seed", PretrainedRunFixture.Seed.ToString(), "--threads", "1", "--output", output, "--resume", checkpoint]);
        string line = RunCliFaultTests.AssertOneErrorLine(r);
        Assert.Contains(checkpoint, line);
        Assert.Contains("optimizer state", line);
        Assert.Equal(metrics, File.ReadAllText(Path.Combine(output, "metrics.csv")));   // not one step trained
    }

    [Fact]
    public void Damaged_safetensors_weights_are_refused_by_finetune_pretrained_and_embed()
    {
        using var dir = new TempDir();
        string weights = Path.Combine(CopyRun(dir), "checkpoints", "checkpoint-0000.safetensors");
        var bytes = File.ReadAllBytes(weights);
        Damage(weights, bytes.Length - 1000, 16, 3);   // in the last tensor's data
        var embed = CliConsole.Run(["embed", "--checkpoint", weights, "--threads", "1", "--limit", "4", "--output", Path.Combine(dir.Path, "f.npy")]);
        Assert.Contains("checksum", RunCliFaultTests.AssertOneErrorLine(embed));
        var ft = CliConsole.Run(["finetune", "--model", "tiny", "--pretrained", weights, "--epochs", "1", "--warmup-epochs", "0", "--threads", "1",
            "--output", Path.Combine(dir.Path, "ft")]);
        string line = RunCliFaultTests.AssertOneErrorLine(ft);
        Assert.Contains(weights, line);
        Assert.Contains("checksum", line);
    }

    [Fact]
    public async Task A_fifo_for_any_file_the_runner_reads_is_one_error_line_not_a_hang()
    {
        using var dir = new TempDir();
        string fifo = Path.Combine(dir.Path, "pipe.ckpt");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        Assert.True(File.Exists(fifo), "mkfifo failed");
        string fifoWeights = Path.Combine(dir.Path, "pipe.safetensors");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifoWeights)) mkfifo.WaitForExit();
        string out1 = Path.Combine(dir.Path, "out");
        string[][] commands =
        [
            ["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "1", "--batch", "64", "--threads", "1", "--output", out1, "--resume", fifo],
            ["evaluate", "--checkpoint", fifo, "--threads", "1", "--output", out1],
            ["embed", "--checkpoint", fifo, "--threads", "1", "--output", Path.Combine(dir.Path, "f.npy")],
            ["reconstruct", "--checkpoint", fifo, "--threads", "1", "--output", Path.Combine(dir.Path, "r.png")],
            ["predict", "--checkpoint", fifo, "--threads", "1", "--output", Path.Combine(dir.Path, "p.csv")],
            ["finetune", "--model", "tiny", "--pretrained", fifoWeights, "--epochs", "1", "--warmup-epochs", "0", "--threads", "1", "--output", Path.Combine(dir.Path, "ft")],
            ["embed", "--checkpoint", fifoWeights, "--model", "tiny", "--threads", "1", "--output", Path.Combine(dir.Path, "g.npy")],
        ];
        foreach (var args in commands)
        {
            var task = Task.Run(() => CliConsole.Run(args));
            Assert.True(await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(60))) == task, $"{string.Join(' ', args)} hung on a FIFO");
            string line = RunCliFaultTests.AssertOneErrorLine(await task);
            Assert.Contains("FIFO", line);
        }
    }

    [SkippableFact]
    public void Embed_on_a_full_disk_is_one_line_and_leaves_no_temporary_file()
    {
        Assert.True(run.Pretrain.ExitCode == 0, run.Pretrain.ToString());
        using var dir = new TempDir();
        string mount = Path.Combine(dir.Path, "tmpfs");
        Directory.CreateDirectory(mount);
        var psi = new System.Diagnostics.ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]) { RedirectStandardError = true };
        bool mounted;
        try { using var p = System.Diagnostics.Process.Start(psi)!; p.WaitForExit(); mounted = p.ExitCode == 0; }
        catch (System.ComponentModel.Win32Exception) { mounted = false; }
        Skip.IfNot(mounted, "a 64 KB tmpfs needs Linux and the right to mount (root)");
        try
        {
            string output = Path.Combine(mount, "features.npy");   // 2,000 × 64 floats: 500 KiB on a 64 KiB disk
            var r = CliConsole.Run(["embed", "--checkpoint", run.Checkpoint, "--limit", "2000", "--threads", "1", "--output", output]);
            string line = RunCliFaultTests.AssertOneErrorLine(r);
            Assert.Contains("No space left on device", line);
            Assert.Empty(Directory.GetFiles(mount));
        }
        finally { using var p = System.Diagnostics.Process.Start("umount", mount); p.WaitForExit(); }
    }
}

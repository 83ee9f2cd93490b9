// Ctrl-C (SIGINT) during `pretrain`: the run stops after its step with a mid-epoch checkpoint, a `stopped:` and a `resume:` line and exit code 130,
// not killed by System.CommandLine's default 2-second termination timeout; --resume then finishes the run.
using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class InterruptTests(ITestOutputHelper log)
{
    [Fact]
    [Trait("Category", "Slow")]
    public void Sigint_stops_pretraining_at_a_step_and_resume_finishes_it()
    {
        string repo = Processes.RepositoryRoot();
        var (buildExit, build) = Processes.Dotnet(repo, TimeSpan.FromMinutes(10), null, "build", Path.Combine(repo, "examples", "Quickstart"), "-c", PackedFeed.Configuration, "-nologo");
        Assert.True(buildExit == 0, build);
        string app = Path.Combine(repo, "examples", "Quickstart", "bin", PackedFeed.Configuration, "net10.0", "Quickstart.dll");
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "run");
        string[] args = ["pretrain", "--train-limit", "512", "--epochs", "20", "--batch", "64", "--threads", "1", "--output", output];

        // started directly, SIGINT at its default (not through a shell, nor inheriting a background run's ignored SIGINT)
        var start = MaeDsl.Tests.Shared.DotnetProcess.WithDefaultSigint(args.Prepend(app));
        var (stdout, stderr) = (new StringBuilder(), new StringBuilder());
        using var firstEpoch = new ManualResetEventSlim();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.Contains("epoch 1/20: mean loss", StringComparison.Ordinal)) firstEpoch.Set();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            Assert.True(firstEpoch.Wait(TimeSpan.FromMinutes(3)), $"no first epoch:\n{stdout}\n{stderr}");
            using (var kill = Process.Start("kill", ["-INT", process.Id.ToString()])) kill.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "the run did not stop after SIGINT");
            process.WaitForExit();
        }
        finally { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        log.WriteLine($"{stdout}\n--- stderr\n{stderr}");
        Assert.Equal(130, process.ExitCode);
        string last = Path.Combine(output, "checkpoints", "checkpoint-last.ckpt");
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);                                    // the stop with its (mid-epoch) checkpoint, and the command that resumes
        Assert.StartsWith("stopped (SIGINT) at iteration ", lines[0]);
        Assert.EndsWith($"--resume {last}", lines[1]);
        Assert.True(File.Exists(last));

        var resumed = CliConsole.Run(["pretrain", "--resume", last, "--train-limit", "512", "--epochs", "20", "--batch", "64", "--threads", "1"]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal($"output: {output}", resumed.OutLines[^1]); // the resumed run's folder
        Assert.Contains("epoch 20/20: mean loss", resumed.Out);
    }
}

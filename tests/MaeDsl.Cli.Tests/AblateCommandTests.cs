// `ablate` on a synthetic ImageFolder with a tiny budget (2 pre-training epochs of 160 images, one epoch of each protocol): every
// point runs and is written (CSV, plot, table, masks), a second run reads what is done, a failing point is one line and the
// sweep goes on, a folder of other settings is refused, and a sweep killed mid-pre-training continues bit for bit.
using System.Buffers.Binary;
using MaeDsl.Training.Loop;

namespace MaeDsl.Cli.Tests;

/// <summary>One uninterrupted sweep of the ratio points 0.5 and 0.75, shared by the tests.</summary>
public sealed class AblationSweepFixture : IDisposable
{
    readonly TempDir dir = new("maedsl-ablate");

    public AblationSweepFixture()
    {
        Data = Synthetic.ImageFolder(Path.Combine(dir.Path, "data"), ["a", "b", "c", "d"], perClass: 40, size: 28, withVal: true);
        Folder = Path.Combine(dir.Path, "sweep");
        First = CliConsole.Run(Args(Folder));
    }

    public string Data { get; }
    public string Folder { get; }
    public CliResult First { get; }

    /// <summary>The sweep's command: 160 images at batch 32 (5 iterations per epoch), fp32 (no calibration), one thread.</summary>
    public string[] Args(string folder, string points = "0.5,0.75", params string[] more) =>
    [
        "ablate", "ratio", "--points", points, "--model", "tiny", "--dataset", Data, "--epochs", "2", "--batch", "32", "--linprobe-epochs", "1",
        "--linprobe-batch", "32", "--finetune-epochs", "1", "--finetune-batch", "32", "--finetune-aa", "none", "--threads", "1", "--precision", "fp32",
        "--output", folder, .. more,
    ];

    public void Dispose() => dir.Dispose();
}

[Collection(ConsoleCollection.Name)]
public class AblateCommandTests(AblationSweepFixture sweep) : IClassFixture<AblationSweepFixture>
{
    static string[][] Csv(string folder) =>
        [.. File.ReadAllLines(Path.Combine(folder, "ratio.csv")).Skip(1).Select(l => l.Split(','))];

    /// <summary>What a sweep measured, without its timings: point, model, x, epochs, images, loss, k-NN, probe, fine-tune, status.</summary>
    static string[] Measured(string folder) =>
        [.. Csv(folder).Select(f => string.Join(',', f[..11].Concat(f[15..])))];

    [Fact]
    public void Every_point_is_measured_and_written_as_csv_plot_table_and_masks()
    {
        Assert.True(sweep.First.ExitCode == 0, sweep.First.ToString());
        Assert.Equal("", sweep.First.Error);
        var rows = Csv(sweep.Folder);
        Assert.Equal(["ratio-0.5", "ratio-0.75", "raw pixels", "random encoder"], rows.Select(r => r[1]));
        foreach (var point in rows.Take(2))
        {
            Assert.Equal("ok", point[15]);
            Assert.Equal("320", point[6]);   // 2 epochs × 5 iterations × 32 images
            foreach (int column in new[] { 8, 9, 10 })   // k-NN, linear probe, fine-tune
                Assert.InRange(double.Parse(point[column], System.Globalization.CultureInfo.InvariantCulture), 0, 100);
        }
        Assert.Equal((900, 560), PngSize(Path.Combine(sweep.Folder, "ratio.png")));
        Assert.True(PngSize(Path.Combine(sweep.Folder, "masks.png")).Width > 0);
        string table = File.ReadAllText(Path.Combine(sweep.Folder, "ratio.md"));
        Assert.Contains("| 0.5 | MaeFashionTiny |", table);
        Assert.Contains("| 0.75 | MaeFashionTiny |", table);
        Assert.True(File.Exists(Path.Combine(sweep.Folder, AblateCommand.SettingsFile)));
        // the 0.75 point is the declared model itself: its run folder is the one every sweep's base point shares
        Assert.True(Directory.Exists(Path.Combine(sweep.Folder, "runs", "tiny-2ep", "pretrain", "checkpoints")));
        Assert.True(Directory.Exists(Path.Combine(sweep.Folder, "runs", "tiny-ratio0.5-2ep", "pretrain", "checkpoints")));
    }

    [Fact]
    public void A_second_run_reads_the_finished_points_and_redoes_nothing()
    {
        var before = Measured(sweep.Folder);
        var again = CliConsole.Run(sweep.Args(sweep.Folder));
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(2, again.Out.Split('\n').Count(l => l.Contains(": measured earlier: k-NN")));
        Assert.DoesNotContain("pre-training done", again.Out);
        Assert.DoesNotContain("baselines: raw pixels", again.Out);
        Assert.Equal(before, Measured(sweep.Folder));
    }

    [Fact]
    public void A_folder_that_holds_a_sweep_of_other_settings_is_refused_naming_what_differs()
    {
        string[] args = [.. sweep.Args(sweep.Folder), "--seed", "5"];
        args[Array.IndexOf(args, "--linprobe-epochs") + 1] = "2";
        var r = CliConsole.Run(args);
        Synthetic.AssertOneErrorLine(r, $"--output {sweep.Folder} holds a sweep with other settings (");
        Assert.Contains("seed 0 there, 5 here", r.Error);
        Assert.Contains("linprobe", r.Error);
    }

    [Theory]
    [InlineData("0.5,abc", "--points: 'abc' is not a masking ratio")]
    [InlineData("0.5,0.5", "--points: ratio-0.5 is given twice")]
    public void Points_that_cannot_run_are_one_error_line_before_any_work(string points, string expected)
    {
        using var dir = new TempDir("maedsl-ablate-points");
        string folder = Path.Combine(dir.Path, "sweep");
        Synthetic.AssertOneErrorLine(CliConsole.Run(sweep.Args(folder, points)), expected);
        Assert.False(Directory.Exists(folder), "nothing was made");
    }

    [Fact]
    public void A_failing_point_is_one_line_and_the_sweep_goes_on_and_the_next_run_retries_it()
    {
        using var dir = new TempDir("maedsl-ablate-fail");
        string folder = Path.Combine(dir.Path, "sweep");
        Assert.Equal(0, CliConsole.Run(sweep.Args(folder, "0.75")).ExitCode);
        // a damaged checkpoint where the 0.5 point's pre-training would resume
        string checkpoints = Path.Combine(folder, "runs", "tiny-ratio0.5-2ep", "pretrain", "checkpoints");
        Directory.CreateDirectory(checkpoints);
        File.WriteAllText(Path.Combine(checkpoints, "checkpoint-last.ckpt"), "not a checkpoint");
        var r = CliConsole.Run(sweep.Args(folder, "0.5,0.75,0.6"));
        Assert.Equal(1, r.ExitCode);
        var errors = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, errors.Length);
        Assert.StartsWith("point ratio-0.5 failed: ", errors[0]);
        Assert.Contains("checkpoint-last.ckpt", errors[0]);
        Assert.Equal("error: 1 point(s) failed (each said why above); run the same command again to retry them", errors[1]);
        Assert.DoesNotContain("   at ", r.Out + r.Error);   // no stack trace
        var rows = Csv(folder);
        Assert.Equal(["ratio-0.5", "ratio-0.6", "ratio-0.75"], rows.Take(3).Select(f => f[1]));
        Assert.NotEqual("ok", rows[0][^1]);
        Assert.Equal("ok", rows[1][^1]);   // the sweep went on past the failure
        Assert.Equal("ok", rows[2][^1]);
        File.Delete(Path.Combine(checkpoints, "checkpoint-last.ckpt"));
        var retried = CliConsole.Run(sweep.Args(folder, "0.5,0.75,0.6"));
        Assert.True(retried.ExitCode == 0, retried.ToString());
        Assert.All(Csv(folder).Take(3), f => Assert.Equal("ok", f[^1]));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_sweep_killed_during_a_pre_training_continues_from_its_checkpoint_to_the_uninterrupted_numbers()
    {
        string app = Processes.QuickstartApp.Value;
        using var dir = new TempDir("maedsl-ablate-kill");
        string folder = Path.Combine(dir.Path, "sweep");
        // iteration 7 of the first point's 10 (epoch 2 of 2): the baselines' probe and fine-tune have 5 each, so the kill lands
        // in the 0.5 point's pre-training, after its epoch-1 checkpoint
        var (killed, output) = Processes.Dotnet(dir.Path, TimeSpan.FromMinutes(5), new Dictionary<string, string> { [FaultHooks.KillAtStepVariable] = "7" },
            [app, .. sweep.Args(folder)]);
        Assert.True(killed == 137, $"exit {killed}\n{output}");
        Assert.False(File.Exists(Path.Combine(folder, "runs", "tiny-ratio0.5-2ep", AblationRunner.ResultFile)), output);
        var resumed = CliConsole.Run(sweep.Args(folder));
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains("resuming the pre-training from ", resumed.Out);
        Assert.Equal(string.Join('\n', Measured(sweep.Folder)), string.Join('\n', Measured(folder)));   // bit for bit: losses and accuracies as the uninterrupted sweep's
    }

    static (int Width, int Height) PngSize(string path)
    {
        byte[] head = File.ReadAllBytes(path)[..24];
        Assert.Equal((byte)'P', head[1]);
        return (BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(20)));
    }
}

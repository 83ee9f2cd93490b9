// Faults of the data a user points the command line at (issue 10): what ImageFolder skips is reported by the runner as one
// count line, and the run goes on; a held-out split maps to the training classes by name (issue 19, class 3).
namespace MaeDsl.Cli.Tests.Faults;

[Collection(ConsoleCollection.Name)]
public class DataCliFaultTests
{
    [Fact]
    public void A_fifo_in_an_image_folder_is_skipped_counted_in_one_line_and_the_run_goes_on()
    {
        using var dir = new TempDir();
        string train = Path.Combine(dir.Path, "train");
        foreach (var cls in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(train, cls));
            for (int i = 0; i < 2; i++)
            {
                using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(28, 28);
                SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(train, cls, $"{i}.png"));
            }
        }
        string fifo = Path.Combine(train, "a", "pipe.png");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        Assert.True(File.Exists(fifo), "mkfifo failed");

        var r = CliConsole.Run(["bench", "--model", "tiny", "--dataset", train, "--batch", "2", "--iterations", "1", "--warmup", "0",
            "--gemm-size", "8", "--threads", "1"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var skipped = r.Out.Split('\n').Where(l => l.StartsWith("skipped: ", StringComparison.Ordinal)).ToList();
        Assert.Single(skipped);
        Assert.Contains("skipped 1 entry", skipped[0]);
        Assert.Contains("pipe.png", skipped[0]);
        RunCliFaultTests.AssertNoTrace(r);
    }

    static string Split(string root, params string[] classes)
    {
        foreach (var cls in classes)
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            for (int i = 0; i < 2; i++)
            {
                using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(28, 28);
                SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(root, cls, $"{i}.png"));
            }
        }
        return root;
    }

    [Fact]
    public void A_held_out_split_with_a_class_training_lacks_is_refused_before_any_work()
    {
        using var dir = new TempDir();
        string train = Split(Path.Combine(dir.Path, "train"), "a", "b", "c");
        Split(Path.Combine(dir.Path, "val"), "a", "b", "c", "d-extra");
        string output = Path.Combine(dir.Path, "ft");
        var r = CliConsole.Run(["finetune", "--model", "tiny", "--dataset", train, "--epochs", "1", "--warmup-epochs", "0", "--batch", "2",
            "--threads", "1", "--output", output]);
        string line = RunCliFaultTests.AssertOneErrorLine(r);
        Assert.Contains("'d-extra'", line);
        Assert.Contains("training split", line);
        Assert.False(File.Exists(Path.Combine(output, "metrics.csv")));
    }

    [Fact]
    public void A_held_out_split_lacking_a_class_is_reported_and_keeps_the_training_labels()
    {
        using var dir = new TempDir();
        string train = Split(Path.Combine(dir.Path, "train"), "a", "b", "c");
        Split(Path.Combine(dir.Path, "val"), "a", "c");
        string output = Path.Combine(dir.Path, "ft");
        var r = CliConsole.Run(["finetune", "--model", "tiny", "--dataset", train, "--epochs", "1", "--warmup-epochs", "0", "--batch", "2",
            "--threads", "1", "--output", output]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains(r.OutLines, l => l.StartsWith("held-out split", StringComparison.Ordinal) && l.Contains("lacks 1 of the 3 training classes (b)"));
        RunCliFaultTests.AssertNoTrace(r);
    }
}

// `pretrain` then `evaluate` through MaeCli.Run in process, on 256 Fashion-MNIST images, with a run-time mask ratio.
using System.Globalization;
using System.Text.RegularExpressions;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class EndToEndTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public void Pretrain_then_evaluate_the_checkpoint()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "run");
        var pretrain = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "256", "--epochs", "1", "--batch", "64",
            "--mask-ratio", "0.6", "--threads", "1", "--output", output]);
        Assert.True(pretrain.ExitCode == 0, pretrain.ToString());
        Assert.Equal($"output: {output}", pretrain.OutLines[^1]);
        Assert.Contains("mask ratio 0.6", pretrain.Out);
        string checkpoint = Path.Combine(output, "checkpoints", "checkpoint-last.ckpt");
        Assert.True(File.Exists(checkpoint), pretrain.ToString());
        Assert.True(File.Exists(Path.Combine(output, "reconstruction.png")), pretrain.ToString());

        var evaluate = CliConsole.Run(["evaluate", "--checkpoint", checkpoint, "--eval-limit", "300", "--threads", "1"]);
        Assert.True(evaluate.ExitCode == 0, evaluate.ToString());
        Assert.Equal($"output: {output}", evaluate.OutLines[^2]);
        var m = Regex.Match(evaluate.OutLines[^1], @"^knn_accuracy pretrained=(\d\.\d{4}) random_init=(\d\.\d{4}) raw_pixels=(\d\.\d{4})$");
        Assert.True(m.Success, evaluate.ToString());
        foreach (var g in m.Groups.Values.Skip(1))
            Assert.InRange(double.Parse(g.Value, CultureInfo.InvariantCulture), 0.3, 1.0); // 10 classes: chance is 0.1
        Assert.Contains("mask ratio 0.6", evaluate.Out); // the checkpoint's own ratio
        Assert.True(File.Exists(Path.Combine(output, "results.json")));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void The_main_job_ends_with_the_output_and_knn_lines()
    {
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "main");
        var r = CliConsole.Run(["--train-limit", "256", "--epochs", "1", "--batch", "128", "--eval-limit", "300", "--threads", "1", "--output", output]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("model: MaeFashionTiny — 28×28×1", r.Out); // the default model
        Assert.Equal($"output: {output}", r.OutLines[^2]);
        Assert.Matches(@"^knn_accuracy pretrained=\d\.\d{4} random_init=\d\.\d{4} raw_pixels=\d\.\d{4}$", r.OutLines[^1]);
        Assert.True(File.Exists(Path.Combine(output, "results.json")));
    }
}

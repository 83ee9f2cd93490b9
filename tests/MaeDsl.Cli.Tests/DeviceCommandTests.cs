// --device on the commands that compute (issue 20): declared once per command, resolved before any work (a CUDA device this
// libtorch cannot reach is one error line), and recorded resolved in config.json (auto → cpu here).
using System.Text.Json.Nodes;
using MaeDsl.Cli.Tests.Faults;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class DeviceCommandTests
{
    static readonly string[] Computing = ["pretrain", "evaluate", "finetune", "linprobe", "results", "ablate", "reconstruct", "embed", "predict"];

    [Fact]
    public void Every_command_that_computes_offers_device_once_and_the_others_do_not()
    {
        var root = MaeCli.CreateRootCommand();
        foreach (var command in root.Subcommands.Append(root))
        {
            bool computes = Computing.Contains(command.Name) || command == root;
            int offered = command.Options.Count(o => o.Name == "--device");
            Assert.True(offered == (computes ? 1 : 0), $"{command.Name}: --device offered {offered} times");
        }
    }

    public static TheoryData<string[]> CommandsWithCuda => new()
    {
        { new[] { "pretrain", "--model", "tiny", "--output", "{out}" } },
        { new[] { "finetune", "--model", "tiny", "--output", "{out}" } },
        { new[] { "linprobe", "--model", "tiny", "--output", "{out}" } },
        { new[] { "results", "--model", "tiny", "--work", "{out}" } },
        { new[] { "ablate", "ratio", "--model", "tiny", "--output", "{out}" } },
        { new[] { "evaluate", "--checkpoint", "missing.ckpt", "--output", "{out}" } },
        { new[] { "reconstruct", "--checkpoint", "missing.ckpt", "--output", "{out}" } },
        { new[] { "embed", "--checkpoint", "missing.ckpt", "--output", "{out}" } },
        { new[] { "predict", "--checkpoint", "missing.ckpt", "--output", "{out}" } },
    };

    [SkippableTheory]
    [MemberData(nameof(CommandsWithCuda))]
    public void Cuda_without_cuda_is_one_error_line_before_any_work(string[] command)
    {
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        Skip.If(TorchSharp.torch.cuda.is_available(), "libtorch reports CUDA here: --device cuda would run");
        using var dir = new TempDir();
        string output = Path.Combine(dir.Path, "never");
        var r = CliConsole.Run([.. command.Select(a => a == "{out}" ? output : a), "--device", "cuda", "--threads", "1"]);
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --device cuda: this libtorch has no CUDA device", line);
        Assert.False(Directory.Exists(output) || File.Exists(output), "the command started work before refusing the device");
    }

    [Fact]
    public void An_unknown_device_is_one_error_line_naming_the_choices()
    {
        string never = Path.Combine(Path.GetTempPath(), $"maedsl-never-{Guid.NewGuid():N}");
        var r = CliConsole.Run(["pretrain", "--model", "tiny", "--device", "gpu", "--output", never]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: --device gpu is invalid: expected cpu, cuda, cuda:N or auto", r.Error.Trim());
    }

    [Fact]
    public void Auto_records_the_device_that_ran_in_config_json()
    {
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var r = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "64", "--batch", "64", "--epochs", "1", "--threads", "1",
                                "--precision", "fp32", "--device", "auto", "--output", run]);
        Assert.True(r.ExitCode == 0, r.ToString());
        string recorded = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!["run"]!["device"]!.GetValue<string>();
        Assert.Equal(TorchSharp.torch.cuda.is_available() ? "cuda:0" : "cpu", recorded);   // never "auto"
    }
}

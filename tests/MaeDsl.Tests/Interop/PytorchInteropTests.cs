using System.Diagnostics;
using MaeDsl.Checkpoints;
using static MaeDsl.Tests.ReferenceData;

namespace MaeDsl.Tests.Interop;

/// <summary>
/// The round trip with a real PyTorch (Debian's python3-torch, installed by eng/install-native-deps.sh):
/// PyTorch's torch.load reads the .pth we write, and we read the .pth PyTorch writes.
/// </summary>
[Trait("Category", "Interop")]
public class PytorchInteropTests
{
    static string Python()
    {
        var python = Environment.GetEnvironmentVariable("MAEDSL_PYTHON") ?? "/usr/bin/python3";
        var (code, output) = Run(python, "-c \"import torch; print(torch.__version__)\"");
        if (code != 0)
            throw new Xunit.Sdk.XunitException($"{python} cannot import torch (exit {code}): {output}. Install Debian's python3-torch with eng/install-native-deps.sh, or point MAEDSL_PYTHON at a Python with PyTorch.");
        return python;
    }

    static (int Code, string Output) Run(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    static string Script => Path.Combine(AppContext.BaseDirectory, "Interop", "check_pth.py");

    [Fact]
    public void PyTorch_reads_our_pth_as_the_official_model_entry()
    {
        var python = Python();
        var dir = Directory.CreateTempSubdirectory("maedsl-interop-");
        try
        {
            using var model = new SpecMae(TinySpec, seed: 5);
            StateDicts.Load(model, PathOf("mae-tiny-official.safetensors"), strict: false);
            var ours = Path.Combine(dir.FullName, "ours.pth");
            StateDicts.Save(model, ours);
            var (code, output) = Run(python, $"\"{Script}\" read \"{ours}\" \"{PathOf("mae-tiny-official-checkpoint-3.pth")}\"");
            Assert.True(code == 0, output);
            Assert.Contains($"OK {TinyModelWeights().Count} tensors equal", output);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void We_read_the_pth_PyTorch_writes()
    {
        var python = Python();
        var dir = Directory.CreateTempSubdirectory("maedsl-interop-");
        try
        {
            var theirs = Path.Combine(dir.FullName, "theirs.pth");
            var (code, output) = Run(python, $"\"{Script}\" write \"{PathOf("mae-tiny-official-checkpoint-3.pth")}\" \"{theirs}\"");
            Assert.True(code == 0, output);
            using var model = new SpecMae(TinySpec);
            StateDicts.Load(model, theirs);
            foreach (var (name, t) in model.state_dict())
                Assert.True(MaxAbsDiff(t, TinyModelWeights()[name] * 2) == 0, $"{name} differs");
        }
        finally { dir.Delete(recursive: true); }
    }
}

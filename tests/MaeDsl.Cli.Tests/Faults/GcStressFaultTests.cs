// The GC-stress run of every runner command (issue 10, TorchSharp's Scalar-finalizer crash): eng/gc-stress.sh runs each command
// of the quickstart with tiny limits under DOTNET_GCgen0size=0x10000 (collections all the time outside the no-GC regions); each must
// exit 0 without an unhandled exception, a stack frame or a native abort, and no torch unit may lose its no-GC region.
using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace MaeDsl.Cli.Tests.Faults;

[Collection(ConsoleCollection.Name)]   // it builds examples/Quickstart, as RunSignalFaultTests does: not at the same time
public class GcStressFaultTests(ITestOutputHelper log)
{
    static readonly string[] Commands =
        ["main-job", "pretrain", "resume", "evaluate", "finetune", "linprobe", "bench", "results", "export-images", "models", "reconstruct", "embed", "predict"];

    /// <summary>The repository root (this file is tests/MaeDsl.Cli.Tests/Faults/GcStressFaultTests.cs).</summary>
    static string Repository([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Every_command_passes_under_a_64_KiB_gen0_budget_with_no_torch_unit_losing_its_no_gc_region()
    {
        string repo = Repository();
        var start = new ProcessStartInfo("bash") { WorkingDirectory = repo, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(repo, "eng", "gc-stress.sh"));
        start.ArgumentList.Add("0x10000");
        foreach (string variable in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            start.Environment.Remove(variable);   // the test host's MSBuild must not leak into the script's build
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = await process.StandardOutput.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10)))
            await process.WaitForExitAsync(timeout.Token);
        string errors = await stderr;
        log.WriteLine(output + errors);
        Assert.True(process.ExitCode == 0, output + errors);
        foreach (string command in Commands)
        {
            var line = Regex.Match(output, $@"^pass {Regex.Escape(command)} \(exit 0, \d+ s\): gc: gen0 (?<gen0>\d+),.* unprotected (?<unprotected>\d+), region lost (?<lost>\d+)$", RegexOptions.Multiline);
            Assert.True(line.Success, $"no pass line for {command}:\n{output}");
            Assert.True(int.Parse(line.Groups["gen0"].Value) >= 1, $"{command}: no gen0 collection");
            Assert.Equal("0", line.Groups["unprotected"].Value);
            Assert.Equal("0", line.Groups["lost"].Value);
        }
        Assert.Contains($"gc-stress: DOTNET_GCgen0size=0x10000: {Commands.Length} passed, 0 failed", output);
    }
}

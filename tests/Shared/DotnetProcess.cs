// The dotnet CLI as the slow end-to-end tests of every test project run it (linked into each project): a timeout, extra
// environment variables, a clean CLI (no telemetry, no build server, English messages), the output kept for the failure message.
using System.Diagnostics;
using System.Text;

namespace MaeDsl.Tests.Shared;

internal static class DotnetProcess
{
    /// <summary>A nuget.config in <paramref name="directory"/> that adds the local package folder <paramref name="feed"/> to the machine's sources.</summary>
    public static void WriteLocalFeedConfig(string directory, string feed) => File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <add key="maedsl-test-feed" value="{feed}" />
          </packageSources>
        </configuration>
        """);

    /// <summary>
    /// `dotnet <paramref name="arguments"/>` with SIGINT at its default disposition, for a test that sends it SIGINT: a test
    /// run started in the background (`cmd &amp;`, nohup) ignores SIGINT and its children inherit that, so the runner would never
    /// see the signal. On Linux coreutils' `env --default-signal=INT` resets it, then execs dotnet (same pid).
    /// </summary>
    public static ProcessStartInfo WithDefaultSigint(IEnumerable<string> arguments)
    {
        bool reset = OperatingSystem.IsLinux() && File.Exists("/usr/bin/env");
        var start = new ProcessStartInfo(reset ? "/usr/bin/env" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (reset) { start.ArgumentList.Add("--default-signal=INT"); start.ArgumentList.Add("dotnet"); }
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        return start;
    }

    public static (int ExitCode, string Output) Run(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        // the test host's own MSBuild settings must not leak into the child build
        foreach (string variable in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            start.Environment.Remove(variable);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish within {timeout} in {workingDirectory}:\n{output}");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }

    public static void DeleteQuietly(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

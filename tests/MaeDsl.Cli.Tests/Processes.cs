// Runs the dotnet CLI (or a built application) for the slow end-to-end tests: a timeout, extra environment variables,
// a clean CLI (no telemetry, no build server), the output kept for the failure message.
using System.Runtime.CompilerServices;

namespace MaeDsl.Cli.Tests;

internal static class Processes
{
    public static (int ExitCode, string Output) Dotnet(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        MaeDsl.Tests.Shared.DotnetProcess.Run(workingDirectory, timeout, environment, arguments);

    /// <summary>The repository root (this file is tests/MaeDsl.Cli.Tests/Processes.cs).</summary>
    public static string RepositoryRoot([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", ".."));

    /// <summary>A fresh directory under the system temp folder, outside the repository.</summary>
    public static string TempDirectory(string prefix)
    {
        string path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        Assert.False(path.StartsWith(RepositoryRoot(), StringComparison.Ordinal), $"{path} must lie outside the repository");
        return path;
    }

    public static void DeleteQuietly(string path) => MaeDsl.Tests.Shared.DotnetProcess.DeleteQuietly(path);

    /// <summary>The last line of <paramref name="output"/> that starts with <paramref name="prefix"/>, or null.</summary>
    public static string? LastLineStartingWith(string output, string prefix) =>
        output.Split('\n').Select(l => l.TrimEnd('\r')).LastOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>examples/Quickstart built in this configuration: the runner as users start it.</summary>
    internal static readonly Lazy<string> QuickstartApp = new(() =>
    {
        string repo = Processes.RepositoryRoot();
        var (exit, output) = Processes.Dotnet(repo, TimeSpan.FromMinutes(10), null, "build", Path.Combine(repo, "examples", "Quickstart"), "-c", PackedFeed.Configuration, "-nologo");
        Assert.True(exit == 0, output);
        return Path.Combine(repo, "examples", "Quickstart", "bin", PackedFeed.Configuration, "net10.0", "Quickstart.dll");
    });
}

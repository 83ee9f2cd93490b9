
namespace MaeDsl.Generators.Tests;

/// <summary>Runs the dotnet CLI for the slow end-to-end tests, with a timeout and the output kept for the failure message.</summary>
internal static class ProcessRunner
{
    public static (int ExitCode, string Output) Dotnet(string workingDirectory, TimeSpan timeout, params string[] arguments) =>
        MaeDsl.Tests.Shared.DotnetProcess.Run(workingDirectory, timeout, null, arguments);

    /// <summary>A fresh directory under the system temp folder (outside the repository tree).</summary>
    public static string TempDirectory(string prefix)
    {
        string path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        string repo = DiagnosticTests.RepositoryRoot();
        Assert.False(path.StartsWith(repo, StringComparison.Ordinal), $"{path} must lie outside the repository {repo}");
        return path;
    }

    public static void DeleteQuietly(string path) => MaeDsl.Tests.Shared.DotnetProcess.DeleteQuietly(path);
}

// Runs MaeCli in this process with stdout and stderr captured; the tests that do so share one non-parallel
// collection, since the console is process-wide.
using System.CommandLine;

namespace MaeDsl.Cli.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}

/// <summary>The exit code and the captured output of one command line.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    public string[] OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}

internal static class CliConsole
{
    static readonly object Gate = new();

    /// <summary><see cref="MaeCli.Run"/>, or the root <paramref name="root"/> gives, on <paramref name="args"/>.</summary>
    public static CliResult Run(string[] args, RootCommand? root = null) =>
        Capture(() => root is null ? MaeCli.Run(args) : MaeCli.InvokeAsync(root, args).GetAwaiter().GetResult());

    /// <summary>What <paramref name="command"/> requires, each given <paramref name="placeholder"/>: its required options
    /// (<c>--checkpoint x</c>) and arguments (<c>ablate x</c>).</summary>
    public static IEnumerable<string> Required(Command command, string placeholder) =>
        command.Options.Where(o => o.Required).SelectMany(o => new[] { o.Name, placeholder })
            .Concat(command.Arguments.Where(a => a.Arity.MinimumNumberOfValues > 0).Select(_ => placeholder));

    /// <summary>The exit code <paramref name="run"/> returns and what it wrote to the console.</summary>
    public static CliResult Capture(Func<int> run)
    {
        lock (Gate)
        {
            var (oldOut, oldError) = (Console.Out, Console.Error);
            var (output, error) = (new StringWriter(), new StringWriter());
            Console.SetOut(output);
            Console.SetError(error);
            try
            {
                int exit = run();
                return new CliResult(exit, output.ToString(), error.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldError);
            }
        }
    }
}

/// <summary>A temporary directory, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "maedsl-cli-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

// examples/CustomModel's README, run as written (from its folder), with its data/ and runs/ in a temporary folder.
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class CustomModelExampleTests(ITestOutputHelper log)
{
    /// <summary>The README's `dotnet run` lines, in order.</summary>
    internal static IReadOnlyList<string[]> ReadmeCommands(string readme) =>
        File.ReadAllLines(readme).Select(l => l.Trim()).Where(l => l.StartsWith("dotnet run ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

    [Fact]
    [Trait("Category", "Slow")]
    public void The_readme_makes_an_image_folder_pretrains_the_model_and_evaluates_it()
    {
        string example = Path.Combine(Processes.RepositoryRoot(), "examples", "CustomModel");
        var commands = ReadmeCommands(Path.Combine(example, "README.md"));
        Assert.Equal(4, commands.Count);
        Assert.Equal(new[] { "export-images", "export-images", "pretrain", "evaluate" }, commands.Select(c => c[Array.IndexOf(c, "--") + 1]));
        string work = Processes.TempDirectory("maedsl-custom-model");
        try
        {
            string last = "";
            foreach (var command in commands)
            {
                // the README's relative data/ and runs/ folders, moved out of the repository
                var args = command.Skip(1).Select(a => a.StartsWith("data/", StringComparison.Ordinal) || a.StartsWith("runs/", StringComparison.Ordinal) ? Path.Combine(work, a) : a).ToArray();
                var (exit, output) = Processes.Dotnet(example, TimeSpan.FromMinutes(10), null, args);
                log.WriteLine($"$ dotnet {string.Join(' ', args)}\n{output}");
                Assert.True(exit == 0, $"dotnet {string.Join(' ', args)} failed ({exit}):\n{output}");
                last = output;
                if (args.Contains("pretrain"))
                {
                    Assert.Contains("model: CustomMae — 32×32×3", output);
                    Assert.Equal($"output: {Path.Combine(work, "runs", "custom")}", Processes.LastLineStartingWith(output, "output: "));
                }
            }
            Assert.Equal(500, Directory.GetFiles(Path.Combine(work, "data", "train"), "*.png", SearchOption.AllDirectories).Length);
            Assert.Equal(200, Directory.GetFiles(Path.Combine(work, "data", "val"), "*.png", SearchOption.AllDirectories).Length);
            Assert.Matches(new Regex(@"^knn_accuracy pretrained=0\.\d{4} random_init=0\.\d{4} raw_pixels=0\.\d{4}\r?$", RegexOptions.Multiline), last);
        }
        finally { Processes.DeleteQuietly(work); }
    }
}

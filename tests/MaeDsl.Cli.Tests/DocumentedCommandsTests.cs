// Every `dotnet run ... -- <arguments>` command of README.md, docs/*.md and the examples' READMEs parses on the
// runner without error (the options the docs use still exist, with the values they give).
using System.Text.RegularExpressions;

namespace MaeDsl.Cli.Tests;

public class DocumentedCommandsTests
{
    /// <summary>The argument lists after `--` of the documented `dotnet run` commands (continuation lines joined).</summary>
    public static TheoryData<string, string> Commands()
    {
        string repo = Processes.RepositoryRoot();
        var files = new[] { "README.md", "examples/Quickstart/README-quickstart.md", "examples/CustomModel/README.md", "src/MaeDsl.Templates/content/maedsl/README.md" }
            .Concat(Directory.GetFiles(Path.Combine(repo, "docs"), "*.md").Select(f => Path.GetRelativePath(repo, f)));
        var data = new TheoryData<string, string>();
        var seen = new HashSet<(string, string)>(); // a command quoted twice in one file is one case
        foreach (var file in files)
        {
            string text = File.ReadAllText(Path.Combine(repo, file)).Replace("\\\n", " ").Replace("\\\r\n", " ");
            foreach (Match m in Regex.Matches(text, @"dotnet run -c Release(?: --project (?<project>[^\s`""]+))?(?: --(?= |$)(?<args>[^`\n""]*))?", RegexOptions.Multiline))
                if (m.Groups["project"].Value is "" or "examples/Quickstart" or "examples/CustomModel" // the others are not the runner
                    && seen.Add((file, m.Groups["args"].Value.Trim())))
                    data.Add(file, m.Groups["args"].Value.Trim());
        }
        return data;
    }

    [Fact]
    public void The_docs_hold_commands()
    {
        Assert.True(Commands().Count() >= 15, $"only {Commands().Count()} documented commands found");
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_documented_command_parses(string file, string arguments)
    {
        var args = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var parse = MaeCli.CreateRootCommand().Parse(args);
        Assert.True(parse.Errors.Count == 0, $"{file}: `{arguments}`: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        // the model it names is registered here (the quickstart's and the presets; the CustomModel's and template's are their own)
        int at = Array.FindIndex(args, a => a is "--model" or "--variant");
        if (at >= 0 && !file.Contains("CustomModel") && !file.Contains("Templates"))
            Assert.NotNull(MaeModels.Find(args[at + 1]));
    }
}

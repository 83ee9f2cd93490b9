namespace MaeDsl.Tests;

/// <summary>
/// The conventions of .editorconfig that no analyzer checks: a line of src/ or generators/ is at most 160 characters, and
/// every source file under src/ opens with a comment that says what it is.
/// </summary>
public class SourceConventionsTests
{
    public const int MaxLineLength = 160;

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, ".editorconfig")) && Directory.Exists(Path.Combine(dir.FullName, "src", "MaeDsl")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"no repository root with .editorconfig and src/MaeDsl above {AppContext.BaseDirectory}");
    }

    /// <summary>The C# sources under <paramref name="folder"/> of the repository, without build outputs (bin/, obj/).</summary>
    static IEnumerable<string> Sources(string folder)
    {
        string root = RepositoryRoot();
        return Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal);
    }

    /// <summary>Each line over <paramref name="limit"/> characters as "path:line: N characters".</summary>
    public static IEnumerable<string> LongLines(string path, string text, int limit = MaxLineLength) =>
        text.Split('\n')
            .Select((line, i) => (Length: line.TrimEnd('\r').Length, Number: i + 1))
            .Where(l => l.Length > limit)
            .Select(l => $"{path}:{l.Number}: {l.Length} characters");

    [Theory]
    [InlineData("src")]
    [InlineData("generators")]
    public void No_line_is_over_160_characters(string folder)
    {
        string root = RepositoryRoot();
        var sources = Sources(folder).ToList();
        Assert.NotEmpty(sources);
        var longLines = sources.SelectMany(f => LongLines(Path.GetRelativePath(root, f), File.ReadAllText(f))).ToList();
        Assert.True(longLines.Count == 0, $"{longLines.Count} lines over {MaxLineLength} characters (wrap them):\n" + string.Join('\n', longLines));
    }

    [Fact]
    public void The_check_counts_characters_not_bytes_and_finds_a_long_line()
    {
        string fits = "// " + new string('×', MaxLineLength - 3);                     // 160 characters, 318 bytes in UTF-8
        Assert.Empty(LongLines("a.cs", fits + "\r\n" + fits));
        Assert.Equal(["a.cs:2: 161 characters"], LongLines("a.cs", fits + "\n" + fits + "x\n"));
    }

    [Fact]
    public void Every_source_file_under_src_opens_with_a_comment()
    {
        string root = RepositoryRoot();
        var sources = Sources("src").ToList();
        Assert.NotEmpty(sources);
        var bare = sources.Where(f => !File.ReadLines(f).First().TrimStart('\uFEFF').StartsWith("//", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(root, f)).ToList();
        Assert.True(bare.Count == 0, "files whose first line is not a comment saying what the file is:\n" + string.Join('\n', bare));
    }
}

using System.Runtime.CompilerServices;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// The generated source of each variant, compared exactly with Baselines/&lt;Variant&gt;.generated.cs.txt, and the
/// registry of all of them compiled together with Baselines/Registry.generated.cs.txt.
/// MAEDSL_ACCEPT_BASELINES=1 rewrites the baselines instead (then review the diff); see Baselines/README.md.
/// </summary>
public class GoldenFileTests
{
    private static string BaselineDirectory([CallerFilePath] string thisFile = "") =>
        Path.Combine(Path.GetDirectoryName(thisFile)!, "Baselines");

    private static bool Accept => Environment.GetEnvironmentVariable("MAEDSL_ACCEPT_BASELINES") == "1";

    [Theory]
    [MemberData(nameof(Variants.Names), MemberType = typeof(Variants))]
    public void Generated_source_matches_the_baseline(string variant)
    {
        var (_, result) = TestCompilation.Generate(TestCompilation.Create(Variants.All[variant]));
        AssertMatchesBaseline(variant, Assert.Single(TestCompilation.ModelSources(result)).Value);
    }

    /// <summary>The registry of every variant in one assembly: declaration order, keys, escaped descriptions, the default.</summary>
    [Fact]
    public void Generated_registry_matches_the_baseline()
    {
        var (output, result) = TestCompilation.Generate(TestCompilation.Create(Variants.All.Values.ToArray()));
        Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees));
        Assert.Empty(TestCompilation.Analyze(output));
        AssertMatchesBaseline(RegistryBaseline, TestCompilation.RegistrySource(result) ?? "");
    }

    private const string RegistryBaseline = "Registry";

    private static void AssertMatchesBaseline(string variant, string source)
    {
        string path = Path.Combine(BaselineDirectory(), $"{variant}.generated.cs.txt");
        if (Accept)
        {
            Directory.CreateDirectory(BaselineDirectory());
            File.WriteAllText(path, source);
            return;
        }
        Assert.True(File.Exists(path), $"The baseline {path} is missing: run the tests once with MAEDSL_ACCEPT_BASELINES=1, review it and commit it.");
        string expected = File.ReadAllText(path);
        if (expected != source)
        {
            string received = Path.Combine(BaselineDirectory(), $"{variant}.received.cs.txt"); // *.received.* is git-ignored
            File.WriteAllText(received, source);
            Assert.Fail($"The generated source of {variant} differs from {path}; the new output is in {received} " +
                        $"(diff them; if the change is intended, rerun with MAEDSL_ACCEPT_BASELINES=1 and commit). First difference at character {FirstDifference(expected, source)}.");
        }
    }

    [Fact]
    public void Every_baseline_file_belongs_to_a_variant()
    {
        var files = Directory.GetFiles(BaselineDirectory(), "*.generated.cs.txt").Select(f => Path.GetFileName(f)!.Replace(".generated.cs.txt", ""));
        Assert.Equal(Variants.All.Keys.Append(RegistryBaseline).OrderBy(k => k), files.OrderBy(f => f));
    }

    [Theory]
    [MemberData(nameof(Variants.Names), MemberType = typeof(Variants))]
    public void Generated_source_compiles_without_warnings_and_without_MAE_diagnostics(string variant)
    {
        var (output, result) = TestCompilation.Generate(TestCompilation.Create(Variants.All[variant]));
        Assert.Single(TestCompilation.ModelTrees(result));
        Assert.NotNull(TestCompilation.RegistrySource(result));
        Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees));
        Assert.Empty(TestCompilation.Analyze(output));
    }

    private static int FirstDifference(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return n;
    }
}

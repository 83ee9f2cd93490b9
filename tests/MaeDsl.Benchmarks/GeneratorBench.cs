using System.Collections.Immutable;
using System.Diagnostics;
using MaeDsl.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `generator [--models 20] [--runs 20]`: the DSL's source generator (generators/MaeDsl.Generators) through a
/// CSharpGeneratorDriver on a compilation of N files, one [Encoder]/[Decoder] declaration each, against the real
/// references (framework, MaeDsl.dll, TorchSharp.dll). Cold: a new driver's first run on the compilation (the very
/// first one in the process includes JIT; then the median of fresh drivers, each on a new compilation parsed from the
/// text, so that no binding is cached). Edit: a warm driver after one file changes by
/// one character (its encoder depth 4 ↔ 5, so that model and the registry are regenerated, the others come from the cache).
/// </summary>
static class GeneratorBench
{
    static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static int Run(Options options)
    {
        int models = options.Int("--models", 20), runs = options.Int("--runs", 20);
        Console.WriteLine($"generator: MaeGenerator on {models} declarations, median of {runs} runs after warm-up; {Machine()}");
        var references = References();
        // a new compilation from the text each time, as a fresh build has: nothing bound or cached yet
        CSharpCompilation NewCompilation() => CSharpCompilation.Create("GeneratorBench",
            Enumerable.Range(0, models).Select(i => Parse(Source(i, depth: 4), i)), references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var compilation = NewCompilation();

        GeneratorDriver Fresh() => CSharpGeneratorDriver.Create([new MaeGenerator().AsSourceGenerator()], parseOptions: ParseOptions);

        // the very first run in the process (JIT of the generator and of Roslyn's generator machinery)
        GeneratorDriver driver = Fresh();
        var first = Stopwatch.StartNew();
        driver = driver.RunGenerators(compilation);
        double firstMs = first.Elapsed.TotalMilliseconds;
        int generated = driver.GetRunResult().GeneratedTrees.Length;
        var errors = driver.GetRunResult().Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0 || generated < models) throw new InvalidOperationException($"the generator made {generated} files, diagnostics: {string.Join("; ", errors)}");

        var cold = new List<double>();
        for (int i = 0; i < runs + 3; i++)
        {
            var fresh = Fresh();
            var unbound = NewCompilation();
            double ms = Seconds(() => fresh.RunGenerators(unbound)) * 1000;
            if (i >= 3) cold.Add(ms);
        }

        // one-character edits on a warm driver: file 7's depth flips 4 → 5 → 4 …; each run is a real change
        var edited = compilation;
        int target = Math.Min(7, models - 1);
        var edit = new List<double>();
        for (int i = 0; i < runs + 3; i++)
        {
            var oldTree = edited.SyntaxTrees.Single(t => t.FilePath == Path(target));
            var newTree = Parse(Source(target, depth: i % 2 == 0 ? 5 : 4), target);
            edited = edited.ReplaceSyntaxTree(oldTree, newTree);
            var watch = Stopwatch.StartNew();
            driver = driver.RunGenerators(edited);
            double ms = watch.Elapsed.TotalMilliseconds;
            if (i >= 3) edit.Add(ms);
        }
        var reasons = driver.GetRunResult().Results[0].GeneratedSources.Length;
        Console.WriteLine($"  first run in the process (JIT included): {F(firstMs, 1)} ms, {generated} generated files");
        Console.WriteLine($"  cold (new driver), median              : {F(Median(cold), 2)} ms");
        Console.WriteLine($"  after a one-character edit, median     : {F(Median(edit), 2)} ms ({reasons} generated files)");
        Console.WriteLine($"generator models={models} first_ms={F(firstMs, 1)} cold_ms={F(Median(cold), 2)} edit_ms={F(Median(edit), 2)}");
        return 0;
    }

    static string Path(int i) => $"Model{i}.cs";

    static SyntaxTree Parse(string source, int i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: Path(i));

    static string Source(int i, int depth) => $$"""
        using MaeDsl;
        namespace Bench{{i}};
        [Encoder(Depth = {{depth}}, Width = {{64 * (1 + i % 4)}})]
        [Decoder(Depth = {{1 + i % 3}}, Width = 64, Heads = 4)]
        [Image(Size = {{28 + 4 * (i % 3)}}, PatchSize = 4, Channels = 1)]
        public partial class Model{{i}};
        """;

    static ImmutableArray<MetadataReference> References()
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(System.IO.Path.PathSeparator)
            .Where(p => System.IO.Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal)
                        || System.IO.Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .ToHashSet();
        paths.Add(typeof(MaskedAutoencoder).Assembly.Location);
        paths.Add(typeof(TorchSharp.torch).Assembly.Location);
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    }
}

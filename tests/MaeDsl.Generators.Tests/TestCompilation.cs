using System.Collections.Immutable;
using System.Reflection;
using MaeDsl.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// Compiles test sources in memory against the real references (the running framework, MaeDsl.dll and
/// TorchSharp), runs the generator and the analyzer on them, and loads what they build.
/// </summary>
internal static class TestCompilation
{
    public static readonly CSharpParseOptions ParseOptions =
        new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    internal static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal)
                        || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll" or "Microsoft.CSharp.dll")
            .ToHashSet();
        paths.Add(typeof(MaskedAutoencoder).Assembly.Location);               // MaeDsl.dll
        paths.Add(typeof(TorchSharp.torch).Assembly.Location);                // TorchSharp.dll
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    });

    public static CSharpCompilation Create(params string[] sources) =>
        CSharpCompilation.Create(
            "MaeDslGeneratorTest",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Model{i}.cs")),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver() =>
        CSharpGeneratorDriver.Create(
            new[] { new MaeGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator; the generator itself must report nothing (an exception would be CS8785).</summary>
    public static (Compilation Output, GeneratorDriverRunResult Result) Generate(Compilation compilation)
    {
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.Empty(generatorDiagnostics);
        var result = driver.GetRunResult();
        foreach (var run in result.Results) Assert.Null(run.Exception);
        return (output, result);
    }

    /// <summary>The hint name of the assembly's model registry (generated when the compilation has a registrable model).</summary>
    public const string RegistryHintName = "MaeDsl.Generated.MaeDslModelRegistry.g.cs";

    /// <summary>The generated sources, by hint name.</summary>
    public static Dictionary<string, string> GeneratedSources(GeneratorDriverRunResult result) =>
        result.Results.SelectMany(r => r.GeneratedSources).ToDictionary(s => s.HintName, s => s.SourceText.ToString());

    /// <summary>The generated model classes by hint name: every source but the registry.</summary>
    public static Dictionary<string, string> ModelSources(GeneratorDriverRunResult result) =>
        GeneratedSources(result).Where(s => s.Key != RegistryHintName).ToDictionary(s => s.Key, s => s.Value);

    /// <summary>The generated model classes' trees: every generated tree but the registry's.</summary>
    public static ImmutableArray<SyntaxTree> ModelTrees(GeneratorDriverRunResult result) =>
        result.GeneratedTrees.Where(t => Path.GetFileName(t.FilePath) != RegistryHintName).ToImmutableArray();

    /// <summary>The generated registry's source, or null when none was generated.</summary>
    public static string? RegistrySource(GeneratorDriverRunResult result) =>
        GeneratedSources(result).TryGetValue(RegistryHintName, out var source) ? source : null;

    /// <summary>The analyzer's diagnostics on the compilation after generation (as the build sees it).</summary>
    public static ImmutableArray<Diagnostic> Analyze(Compilation compilation)
    {
        var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new MaeAnalyzer());
        var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), onAnalyzerException: null, concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        var diagnostics = compilation.WithAnalyzers(analyzers, options).GetAllDiagnosticsAsync().GetAwaiter().GetResult();
        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001"); // the analyzer threw
        return diagnostics.Where(d => d.Id.StartsWith("MAE", StringComparison.Ordinal)).ToImmutableArray();
    }

    /// <summary>Generate, then analyze: the MAE diagnostics of one source.</summary>
    public static ImmutableArray<Diagnostic> Diagnose(string source) => Analyze(Generate(Create(source)).Output);

    /// <summary>Warnings and errors of the compiled output: every error, and any warning inside generated code.</summary>
    public static List<Diagnostic> CompilerProblems(Compilation output, IEnumerable<SyntaxTree> generatedTrees)
    {
        var generated = generatedTrees.ToHashSet();
        return output.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error
                        || (d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && generated.Contains(tree)))
            .ToList();
    }

    /// <summary>Emits the compilation and loads it (its MaeDsl and TorchSharp references are already loaded).</summary>
    public static Assembly Load(Compilation output) => Assembly.Load(Emit(output).ToArray());

    /// <summary>The compiled assembly's image.</summary>
    public static ImmutableArray<byte> Emit(Compilation output)
    {
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics));
        return stream.ToArray().ToImmutableArray();
    }
}

using Microsoft.CodeAnalysis;

namespace MaeDsl.Generators.Tests;

/// <summary>Configurations the official code accepts build: no MAE error, one generated source that compiles.</summary>
public class OfficialConfigurationTests
{
    [Theory]
    // the three presets of models_mae.py
    [InlineData("[Encoder(Depth = 12, Width = 768)] [Decoder(Depth = 8, Width = 512)]")]
    [InlineData("[Encoder(Depth = 24, Width = 1024)] [Decoder(Depth = 8, Width = 512)]")]
    [InlineData("[Encoder(Depth = 32, Width = 1280, Heads = 16)] [Decoder(Depth = 8, Width = 512)] [Image(PatchSize = 14)]")]
    // ViT-Tiny and ViT-Small widths (heads by default: 3 and 6)
    [InlineData("[Encoder(Depth = 12, Width = 192)] [Decoder(Depth = 8, Width = 512)]")]
    [InlineData("[Encoder(Depth = 12, Width = 192, Heads = 3)] [Decoder(Depth = 4, Width = 256, Heads = 8)]")]
    [InlineData("[Encoder(Depth = 12, Width = 384)] [Decoder(Depth = 8, Width = 512)]")]
    // the paper's decoder ablations (Table 1: depth 1..12, width 128..1024) and its norm-pix / ratio settings
    [InlineData("[Encoder(Depth = 24, Width = 1024)] [Decoder(Depth = 1, Width = 128)] [Loss(NormalizePixels = true)]")]
    [InlineData("[Encoder(Depth = 24, Width = 1024)] [Decoder(Depth = 12, Width = 1024)] [Masking(Ratio = 0.5, Strategy = MaskingStrategy.Block)]")]
    [InlineData("[Encoder(Depth = 24, Width = 1024)] [Decoder(Depth = 8, Width = 512)] [Masking(Ratio = 0.75, Strategy = MaskingStrategy.Grid)]")]
    // the official tiny reference model and a grey 28×28 input with patch 7
    [InlineData("[Encoder(Depth = 2, Width = 64, Heads = 4)] [Decoder(Depth = 1, Width = 32, Heads = 4)] [Image(Size = 32, PatchSize = 8)]")]
    [InlineData("[Encoder(Depth = 6, Width = 128, Heads = 4)] [Decoder(Depth = 2, Width = 64, Heads = 4)] [Image(Size = 28, PatchSize = 7, Channels = 1)]")]
    // a different MLP ratio whose hidden size is an integer
    [InlineData("[Encoder(Depth = 2, Width = 100, Heads = 5, MlpRatio = 2.5)] [Decoder(Depth = 1, Width = 64, Heads = 4, MlpRatio = 3)]")]
    public void Builds_without_MAE_errors(string attributes)
    {
        var (output, result) = TestCompilation.Generate(TestCompilation.Create($"using MaeDsl;\n{attributes}\npublic partial class Official;"));
        Assert.Empty(TestCompilation.Analyze(output).Where(d => d.Severity == DiagnosticSeverity.Error));
        Assert.Single(TestCompilation.ModelTrees(result));
        Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees));
    }

    [Fact]
    public void Keyword_names_are_escaped_in_the_generated_code()
    {
        var (output, result) = TestCompilation.Generate(TestCompilation.Create("""
            namespace @class.Models;
            public static partial class @static
            {
                [MaeDsl.Encoder(Depth = 1, Width = 64)]
                [MaeDsl.Decoder(Depth = 1, Width = 32, Heads = 4)]
                [MaeDsl.Image(Size = 32, PatchSize = 8)]
                public partial class @event;
            }
            """));
        Assert.Equal("class.Models.static+event.g.cs", Assert.Single(TestCompilation.ModelSources(result).Keys));
        Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees));
        Assert.Contains("\"event.forward\"", TestCompilation.ModelTrees(result)[0].ToString());
        string registry = TestCompilation.RegistrySource(result)!;
        Assert.Contains("Key: \"event\",", registry);
        Assert.Contains("FullName: \"class.Models.static+event\",", registry);
        Assert.Contains("new global::@class.Models.@static.@event(seed, masking)", registry);
    }

    [Fact]
    public void Values_that_do_not_bind_leave_the_error_to_the_compiler_and_never_crash_the_generator()
    {
        const string decoder = "[MaeDsl.Decoder(Depth = 8, Width = 512)]\npublic partial class M;";
        (Compilation Output, Microsoft.CodeAnalysis.GeneratorDriverRunResult Result, List<string> Errors, List<string> Mae) Run(string encoder)
        {
            var (output, result) = TestCompilation.Generate(TestCompilation.Create(encoder + "\n" + decoder));
            var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id).ToList();
            return (output, result, errors, TestCompilation.Analyze(output).Select(d => d.Id).ToList());
        }

        // a string for an int: the value does not bind; only the placeholder generated, no MAE diagnostic about it
        var text = Run("[MaeDsl.Encoder(Depth = \"twelve\", Width = 768)]");
        Assert.Equal(new[] { "CS0029" }, text.Errors);
        Assert.Contains("Not generated:", Assert.Single(text.Result.GeneratedTrees).ToString());
        Assert.Empty(text.Mae);

        // 12.5 for an int: the compiler reports CS0266 (its constant reads as 12, so the model itself is fine)
        var fraction = Run("[MaeDsl.Encoder(Depth = 12.5, Width = 768)]");
        Assert.Contains("CS0266", fraction.Errors);
        Assert.Empty(fraction.Mae);

        // a misspelt property: the compiler reports it, and Depth is indeed missing (MAE006)
        var misspelt = Run("[MaeDsl.Encoder(Depht = 12, Width = 768)]");
        Assert.Contains(misspelt.Errors, e => e.StartsWith("CS", StringComparison.Ordinal));
        Assert.Equal(new[] { "MAE006" }, misspelt.Mae);
        Assert.Contains("Not generated:", Assert.Single(misspelt.Result.GeneratedTrees).ToString());
    }
}

using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// The code fixes, applied in a workspace as the IDE applies them: one fix per value a diagnostic suggests, each leaving a class
/// with no MAE diagnostic (the analyzer runs again on the fixed code).
/// </summary>
public class CodeFixTests
{
    private const string Usings = "using MaeDsl;\n\n";
    private const string Decoder = "[Decoder(Depth = 8, Width = 512)]\n";
    private const string Encoder = "[Encoder(Depth = 12, Width = 768)]\n";

    /// <summary>Applies fix <paramref name="index"/> of the diagnostic marked in <paramref name="source"/>; <paramref name="count"/> fixes are offered.</summary>
    private static async Task AssertFix(string source, string fixedSource, int index, int count)
    {
        var test = new CSharpCodeFixTest<MaeAnalyzer, MaeCodeFixProvider, DefaultVerifier>
        {
            ReferenceAssemblies = new ReferenceAssemblies("net10.0"), // none downloaded: the running framework's, as TestCompilation's
            TestCode = Usings + source,
            FixedCode = Usings + fixedSource,
            CodeActionIndex = index,
            CodeActionValidationMode = CodeActionValidationMode.None,
        };
        test.TestState.AdditionalReferences.AddRange(TestCompilation.References.Value);
        test.FixedState.AdditionalReferences.AddRange(TestCompilation.References.Value);
        await test.RunAsync();
        Assert.Equal(count, (await FixTitles(source)).Count);
    }

    /// <summary>The titles of the fixes offered for the MAE diagnostics of <paramref name="source"/> (markup removed), in order.</summary>
    private static async Task<List<string>> FixTitles(string source)
    {
        string plain = System.Text.RegularExpressions.Regex.Replace(source, @"\{\|MAE\d{3}:(.*?)\|\}", "$1");
        using var workspace = new Microsoft.CodeAnalysis.AdhocWorkspace();
        var document = workspace.AddProject("Fixes", Microsoft.CodeAnalysis.LanguageNames.CSharp)
            .WithMetadataReferences(TestCompilation.References.Value)
            .WithCompilationOptions(new Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions(Microsoft.CodeAnalysis.OutputKind.DynamicallyLinkedLibrary))
            .AddDocument("M.cs", Usings + plain);
        var compilation = (await document.Project.GetCompilationAsync())!;
        var titles = new List<string>();
        foreach (var diagnostic in TestCompilation.Analyze(compilation))
            await new MaeCodeFixProvider().RegisterCodeFixesAsync(new Microsoft.CodeAnalysis.CodeFixes.CodeFixContext(document, diagnostic,
                (action, _) => titles.Add(action.Title), CancellationToken.None));
        return titles;
    }

    [Fact]
    public async Task The_fixes_are_titled_by_the_edit_they_make()
    {
        Assert.Equal(new[] { "Set Width = 992", "Set Width = 1008" },
            await FixTitles("[Encoder(Depth = 12, Width = 1000, Heads = 16)]\n" + Decoder + "public partial class M;"));
        Assert.Equal(new[] { "Make it partial" }, await FixTitles(Encoder + Decoder + "public class M { }"));
        Assert.Equal(new[] { "Set Key = \"vit-b16\"" }, await FixTitles("[MaeModel(Key = \"ViT_B16\")]\n" + Encoder + Decoder + "public partial class M;"));
        Assert.Empty(await FixTitles(Encoder + "public partial class M;")); // MAE007: which decoder is not obvious
    }

    [Theory]
    [InlineData(0, "992")]
    [InlineData(1, "1008")]
    public Task MAE002_one_fix_per_suggested_width(int index, string width) => AssertFix(
        "[Encoder(Depth = 12, {|MAE002:Width = 1000|}, Heads = 16)]\n" + Decoder + "public partial class M;",
        $"[Encoder(Depth = 12, Width = {width}, Heads = 16)]\n" + Decoder + "public partial class M;", index, 2);

    [Theory]
    [InlineData(0, "Size = 224")]
    [InlineData(1, "Size = 240")]
    [InlineData(2, "Size = 225, PatchSize = 15")]
    public Task MAE003_a_dividing_size_or_patch_size(int index, string image) => AssertFix(
        Encoder + Decoder + "[Image({|MAE003:Size = 225|})]\npublic partial class M;",
        Encoder + Decoder + $"[Image({image})]\npublic partial class M;", index, 3);

    [Fact]
    public Task MAE001_adds_partial() => AssertFix(
        Encoder + Decoder + "public class {|MAE001:M|} { }",
        Encoder + Decoder + "public partial class M { }", 0, 1);

    [Fact]
    public Task MAE001_adds_partial_to_a_class_without_modifiers() => AssertFix(
        Encoder + Decoder + "class {|MAE001:M|} { }",
        Encoder + Decoder + "partial class M { }", 0, 1);

    [Fact]
    public Task MAE004_sets_the_papers_ratio() => AssertFix(
        Encoder + Decoder + "[Masking({|MAE004:Ratio = 1.5|})]\npublic partial class M;",
        Encoder + Decoder + "[Masking(Ratio = 0.75)]\npublic partial class M;", 0, 1);

    [Theory]
    [InlineData(0, "64")]
    [InlineData(1, "68")]
    public Task MAE005_one_fix_per_width_divisible_by_4(int index, string width) => AssertFix(
        $"[Encoder(Depth = 2, {{|MAE005:Width = 66|}}, Heads = 2)]\n" + Decoder + "public partial class M;",
        $"[Encoder(Depth = 2, Width = {width}, Heads = 2)]\n" + Decoder + "public partial class M;", index, 2);

    [Fact]
    public Task MAE006_adds_the_heads_a_width_needs() => AssertFix(
        "[{|MAE006:Encoder(Depth = 2, Width = 96)|}]\n" + Decoder + "public partial class M;",
        "[Encoder(Depth = 2, Width = 96, Heads = 2)]\n" + Decoder + "public partial class M;", 0, 1);

    [Fact]
    public Task MAE008_sets_ratio_0_75_for_grid_masking() => AssertFix(
        Encoder + Decoder + "[Masking({|MAE008:Ratio = 0.5|}, Strategy = MaskingStrategy.Grid)]\npublic partial class M;",
        Encoder + Decoder + "[Masking(Ratio = 0.75, Strategy = MaskingStrategy.Grid)]\npublic partial class M;", 0, 1);

    [Fact]
    public Task MAE009_an_integral_mlp_ratio() => AssertFix(
        "[Encoder(Depth = 2, Width = 64, Heads = 4, {|MAE009:MlpRatio = 2.7|})]\n" + Decoder + "public partial class M;",
        "[Encoder(Depth = 2, Width = 64, Heads = 4, MlpRatio = 2.703125)]\n" + Decoder + "public partial class M;", 0, 1);

    [Fact]
    public Task MAE011_the_fine_tune_recipes_drop_path() => AssertFix(
        "[Encoder(Depth = 12, Width = 768, {|MAE011:DropPath = 1.0|})]\n" + Decoder + "public partial class M;",
        "[Encoder(Depth = 12, Width = 768, DropPath = 0.1)]\n" + Decoder + "public partial class M;", 0, 1);
}

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
    /// <param name="usings">The file's first lines (default: <c>using MaeDsl;</c>).</param>
    private static async Task AssertFix(string source, string fixedSource, int index, int count, CodeFixTestBehaviors behaviors = CodeFixTestBehaviors.None,
        string usings = Usings)
    {
        var test = new CSharpCodeFixTest<MaeAnalyzer, MaeCodeFixProvider, DefaultVerifier>
        {
            ReferenceAssemblies = new ReferenceAssemblies("net10.0"), // none downloaded: the running framework's, as TestCompilation's
            TestCode = usings + source,
            FixedCode = usings + fixedSource,
            CodeActionIndex = index,
            CodeActionValidationMode = CodeActionValidationMode.None,
            CodeFixTestBehaviors = behaviors,
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
        Assert.Equal(new[] { "Add [Decoder(Depth = 8, Width = 512)]" }, await FixTitles(Encoder + "public partial class M;"));
        Assert.Equal(new[] { "Set Strategy = MaskingStrategy.Random", "Set Strategy = MaskingStrategy.Block", "Set Strategy = MaskingStrategy.Grid" },
            await FixTitles(Encoder + Decoder + "[Masking(Strategy = (MaskingStrategy)7)]\npublic partial class M;"));
        // no single value is the answer: a missing Depth, an image too large for the constants, a key another model has
        Assert.Empty(await FixTitles("[Encoder(Width = 768)]\n" + Decoder + "public partial class M;"));
        Assert.Empty(await FixTitles(Encoder + Decoder + "[Image(Size = 2000000, PatchSize = 2)]\npublic partial class M;"));
        Assert.Empty(await FixTitles("[MaeModel(Key = \"vit-b16\")]\n" + Encoder + Decoder + "public partial class M;"));
    }

    [Fact]
    public Task MAE007_adds_the_missing_decoder() => AssertFix(
        "[{|MAE007:Encoder(Depth = 12, Width = 768)|}]\npublic partial class M;",
        Encoder + Decoder + "public partial class M;", 0, 1);

    [Fact]
    public Task MAE007_adds_the_missing_encoder_after_the_decoder_with_its_indentation() => AssertFix(
        "namespace N\n{\n    /// <summary>A model.</summary>\n    [{|MAE007:Decoder(Depth = 8, Width = 512)|}]\n    public partial class M;\n}",
        "namespace N\n{\n    /// <summary>A model.</summary>\n    [Decoder(Depth = 8, Width = 512)]\n    [Encoder(Depth = 12, Width = 768)]\n    public partial class M;\n}",
        0, 1);

    [Fact]
    public Task MAE007_adds_both_halves_to_a_class_with_another_mae_attribute() => AssertFix(
        "[{|MAE007:MaeModel(Key = \"lonely\")|}]\npublic partial class M;",
        "[MaeModel(Key = \"lonely\")]\n" + Encoder + Decoder + "public partial class M;", 0, 1);

    [Theory]
    [InlineData(0, "Random")]
    [InlineData(1, "Block")]
    [InlineData(2, "Grid")]
    public Task MAE012_one_fix_per_masking_strategy(int index, string strategy) => AssertFix(
        Encoder + Decoder + "[Masking({|MAE012:Strategy = (MaskingStrategy)7|})]\npublic partial class M;",
        Encoder + Decoder + $"[Masking(Strategy = MaskingStrategy.{strategy})]\npublic partial class M;", index, 3);

    [Fact]
    public Task MAE012_strategy_keeps_a_qualified_name_where_there_is_no_using() => AssertFix(
        "[MaeDsl.Encoder(Depth = 12, Width = 768)]\n[MaeDsl.Decoder(Depth = 8, Width = 512)]\n[MaeDsl.Masking({|MAE012:Strategy = (MaeDsl.MaskingStrategy)7|})]\npublic partial class M;",
        "[MaeDsl.Encoder(Depth = 12, Width = 768)]\n[MaeDsl.Decoder(Depth = 8, Width = 512)]\n[MaeDsl.Masking(Strategy = MaeDsl.MaskingStrategy.Random)]\npublic partial class M;",
        0, 3, usings: "");

    [Fact]
    public Task MAE004_the_largest_ratio_that_leaves_a_visible_patch() => AssertFix(
        Encoder + Decoder + "[Image(Size = 32, PatchSize = 16)]\n[Masking({|MAE004:Ratio = 0.8|})]\npublic partial class M;",
        Encoder + Decoder + "[Image(Size = 32, PatchSize = 16)]\n[Masking(Ratio = 0.75)]\npublic partial class M;", 0, 1);

    [Fact]
    public Task MAE006_heads_0_the_default_heads() => AssertFix(
        "[Encoder(Depth = 12, Width = 768, {|MAE006:Heads = 0|})]\n" + Decoder + "public partial class M;",
        "[Encoder(Depth = 12, Width = 768, Heads = 12)]\n" + Decoder + "public partial class M;", 0, 1);

    [Theory]
    [InlineData("public static partial class {|MAE001:M|} { }", "public partial class M { }")]
    [InlineData("static partial class {|MAE001:M|} { }", "partial class M { }")]
    [InlineData("public abstract partial class {|MAE001:M|} { }", "public partial class M { }")]
    [InlineData("public partial class {|MAE001:M|} : System.Exception, System.IComparable { public int CompareTo(object? o) => 0; }",
        "public partial class M : System.IComparable { public int CompareTo(object? o) => 0; }")]
    [InlineData("public partial class {|MAE001:M|} : System.Attribute { }", "public partial class M { }")]
    public Task MAE001_removes_what_stops_the_generated_part(string declaration, string fixedDeclaration) => AssertFix(
        Encoder + Decoder + declaration, Encoder + Decoder + fixedDeclaration, 0, 1);

    [Fact]
    public Task MAE013_a_derived_key_that_is_not_valid_gets_a_key() => AssertFix(
        Encoder + Decoder + "public partial class {|MAE013:Ünïcode|};",
        Encoder + Decoder + "[MaeModel(Key = \"n-code\")]\npublic partial class Ünïcode;", 0, 1,
        CodeFixTestBehaviors.SkipLocalDiagnosticCheck);   // a compilation-end diagnostic: the IDE fixes it under full-solution analysis

    [Fact]
    public Task MAE013_a_second_default_stops_being_the_default() => AssertFix(
        "[MaeModel({|MAE013:Default = true|})]\n" + Encoder + Decoder + "public partial class A;\n[MaeModel({|MAE013:Default = true|})]\n" + Encoder + Decoder + "public partial class B;",
        "[MaeModel(Default = false)]\n" + Encoder + Decoder + "public partial class A;\n[MaeModel(Default = true)]\n" + Encoder + Decoder + "public partial class B;", 0, 2,
        CodeFixTestBehaviors.SkipFixAllCheck | CodeFixTestBehaviors.SkipLocalDiagnosticCheck);   // one fix, at each of the two: fixing all would leave no default, fixing one leaves one

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

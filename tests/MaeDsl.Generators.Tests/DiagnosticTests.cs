using System.Globalization;
using Microsoft.CodeAnalysis;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// One test per MAE diagnostic: its id, the source text it points at (the attribute argument, the
/// attribute when the argument is absent, or the class name), its exact message, and that nothing is
/// generated for a class with an error.
/// </summary>
public class DiagnosticTests
{
    private const string Usings = "using MaeDsl;\n\n";

    private static void AssertDiagnostic(string source, string id, string span, string message, DiagnosticSeverity severity = DiagnosticSeverity.Error)
    {
        var compilation = TestCompilation.Create(Usings + source);
        var (output, result) = TestCompilation.Generate(compilation);
        var diagnostics = TestCompilation.Analyze(output);
        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(severity, diagnostic.Severity);
        Assert.Equal(span, diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Equal(message, diagnostic.GetMessage(CultureInfo.InvariantCulture));
        Assert.Equal($"{RepositoryUrl}/blob/main/docs/diagnostics/{id}.md", diagnostic.Descriptor.HelpLinkUri);
        if (severity == DiagnosticSeverity.Error)
        {
            // a class that cannot take a generated part (MAE001), or has neither [Encoder] nor [Decoder], gets none
            if (id == "MAE001" || !(source.Contains("[Encoder") || source.Contains("[Decoder"))) Assert.Empty(result.GeneratedTrees);
            else Assert.Contains("Not generated: the attributes of", Assert.Single(result.GeneratedTrees).ToString()); // the placeholder
            Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees)); // in particular no CS0260
        }
        else
        {
            Assert.Single(TestCompilation.ModelTrees(result));          // a warning still builds the model
            Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees));
        }
    }

    private const string Decoder = "[Decoder(Depth = 8, Width = 512)]\n";
    private const string Encoder = "[Encoder(Depth = 12, Width = 768)]\n";

    // ---- MAE001 ----
    [Fact]
    public void MAE001_not_partial() => AssertDiagnostic(
        Encoder + Decoder + "public class PlainMae { }",
        "MAE001", "PlainMae",
        "'PlainMae' is not partial; declare it as 'partial class PlainMae' so that the generated part can complete it");

    [Fact]
    public void MAE001_generic() => AssertDiagnostic(
        Encoder + Decoder + "public partial class GenericMae<T>;",
        "MAE001", "GenericMae",
        "'GenericMae' is generic; declare it as a non-generic 'partial class GenericMae': the shapes are constants of one class");

    [Fact]
    public void MAE001_nested_in_a_generic_type() => AssertDiagnostic(
        "public partial class Outer<T>\n{\n" + Encoder + Decoder + "    public partial class InnerMae;\n}",
        "MAE001", "InnerMae",
        "'InnerMae' is nested in the generic type 'Outer<T>'; move it out of the generic type: the shapes are constants of one class");

    [Fact]
    public void MAE001_nested_in_a_type_that_is_not_partial() => AssertDiagnostic(
        "public class Holder\n{\n" + Encoder + Decoder + "    public partial class InnerMae;\n}",
        "MAE001", "InnerMae",
        "'InnerMae' is nested in 'Holder', which is not partial; declare 'Holder' partial too, or move 'InnerMae' out of it");

    [Fact]
    public void MAE001_static() => AssertDiagnostic(
        Encoder + Decoder + "public static partial class StaticMae;",
        "MAE001", "StaticMae",
        "'StaticMae' is static; remove 'static': the model is a module with weights and constructors");

    [Fact]
    public void MAE001_abstract() => AssertDiagnostic(
        Encoder + Decoder + "public abstract partial class AbstractMae;",
        "MAE001", "AbstractMae",
        "'AbstractMae' is abstract; remove 'abstract': the generated Create() constructs it");

    [Fact]
    public void MAE001_record() => AssertDiagnostic(
        Encoder + Decoder + "public partial record RecordMae;",
        "MAE001", "RecordMae",
        "'RecordMae' is a record; declare it as 'partial class RecordMae': a record cannot derive from MaskedAutoencoder");

    [Fact]
    public void MAE001_file_local() => AssertDiagnostic(
        Encoder + Decoder + "file partial class LocalMae;",
        "MAE001", "LocalMae",
        "'LocalMae' is file-local; remove 'file': the generated part lives in another file");

    [Fact]
    public void MAE001_other_base_class() => AssertDiagnostic(
        "public class SomeBase { }\n" + Encoder + Decoder + "public partial class DerivedMae : SomeBase;",
        "MAE001", "DerivedMae",
        "'DerivedMae' derives from 'SomeBase'; remove the base class: the generated part derives it from MaeDsl.MaskedAutoencoder");

    // ---- MAE002 ----
    [Fact]
    public void MAE002_encoder_width_not_divisible_by_heads() => AssertDiagnostic(
        "[Encoder(Depth = 12, Width = 1000, Heads = 16)]\n" + Decoder + "public partial class M;",
        "MAE002", "Width = 1000",
        "Encoder Width 1000 is not divisible by Heads 16; Width 992 or 1008 would be");

    [Fact]
    public void MAE002_decoder_width_not_divisible_by_the_default_heads() => AssertDiagnostic(
        Encoder + "[Decoder(Depth = 8, Width = 500)]\npublic partial class M;",
        "MAE002", "Width = 500",
        "Decoder Width 500 is not divisible by Heads 16; Width 496 or 512 would be");

    // ---- MAE003 ----
    [Fact]
    public void MAE003_patch_does_not_tile_the_image() => AssertDiagnostic(
        Encoder + Decoder + "[Image(Size = 225)]\npublic partial class M;",
        "MAE003", "Size = 225",
        "Image Size 225 is not divisible by PatchSize 16; Size 224 or 240 would be");

    // ---- MAE004 ----
    [Fact]
    public void MAE004_ratio_not_in_the_open_unit_interval() => AssertDiagnostic(
        Encoder + Decoder + "[Masking(Ratio = 1.0)]\npublic partial class M;",
        "MAE004", "Ratio = 1.0",
        "Masking Ratio 1 is not in (0, 1); the paper's default is 0.75");

    [Fact]
    public void MAE004_ratio_leaves_no_visible_patch() => AssertDiagnostic(
        Encoder + Decoder + "[Image(Size = 32, PatchSize = 16)]\n[Masking(Ratio = 0.8)]\npublic partial class M;",
        "MAE004", "Ratio = 0.8",
        "Masking Ratio 0.8 leaves no visible patch of the 4: (int)(4 × (1 − 0.8)) = 0; a ratio of at most 0.75 would leave one");

    // ---- MAE005 ----
    [Fact]
    public void MAE005_width_not_divisible_by_4() => AssertDiagnostic(
        "[Encoder(Depth = 2, Width = 66, Heads = 3)]\n" + Decoder + "public partial class M;",
        "MAE005", "Width = 66",
        "Encoder Width 66 is not divisible by 4, which the 2D sin-cos position embedding needs; 64 or 68 would be");

    // ---- MAE006 ----
    [Fact]
    public void MAE006_missing_depth_points_at_the_attribute() => AssertDiagnostic(
        "[Encoder(Width = 768)]\n" + Decoder + "public partial class M;",
        "MAE006", "Encoder(Width = 768)",
        "Encoder.Depth is missing or 0; it must be a positive number");

    [Fact]
    public void MAE006_negative_channels() => AssertDiagnostic(
        Encoder + Decoder + "[Image(Channels = -1)]\npublic partial class M;",
        "MAE006", "Channels = -1",
        "Image.Channels is -1; it must be positive");

    [Fact]
    public void MAE006_heads_required_when_width_is_not_a_multiple_of_64() => AssertDiagnostic(
        "[Encoder(Depth = 2, Width = 96)]\n" + Decoder + "public partial class M;",
        "MAE006", "Encoder(Depth = 2, Width = 96)",
        "Encoder.Heads is required because Width 96 is not a multiple of 64 (the default is Width / 64); Heads = 2 (head dim 48) would fit");

    [Fact]
    public void MAE006_zero_mlp_ratio() => AssertDiagnostic(
        Encoder + "[Decoder(Depth = 8, Width = 512, MlpRatio = 0)]\npublic partial class M;",
        "MAE006", "MlpRatio = 0",
        "Decoder.MlpRatio is missing or 0; it must be a positive number");

    // ---- MAE007 ----
    [Fact]
    public void MAE007_encoder_without_decoder() => AssertDiagnostic(
        Encoder + "public partial class M;",
        "MAE007", "Encoder(Depth = 12, Width = 768)",
        "[Encoder] needs [Decoder]: an MAE has an encoder and a decoder; add [Decoder(Depth = 8, Width = 512)]");

    [Fact]
    public void MAE007_decoder_without_encoder() => AssertDiagnostic(
        Decoder + "public partial class M;",
        "MAE007", "Decoder(Depth = 8, Width = 512)",
        "[Decoder] needs [Encoder]: an MAE has an encoder and a decoder; add [Encoder(Depth = 12, Width = 768)]");

    [Fact]
    public void MAE007_MaeModel_without_encoder() => AssertDiagnostic(
        "[MaeModel(Key = \"lonely\")]\npublic partial class M;",
        "MAE007", "MaeModel(Key = \"lonely\")",
        "[MaeModel] needs [Encoder] and [Decoder]: an MAE has an encoder and a decoder; add [Encoder(Depth = 12, Width = 768)] and [Decoder(Depth = 8, Width = 512)]");

    [Fact]
    public void An_attribute_given_twice_is_the_compilers_CS0579_alone()
    {
        // the attributes allow one use: the compiler's CS0579 names the mistake, and the analyzer adds nothing
        var (output, result) = TestCompilation.Generate(TestCompilation.Create(Usings + Encoder + Decoder + "public partial class M;\n[Decoder(Depth = 4, Width = 256)]\npublic partial class M;"));
        Assert.Empty(TestCompilation.Analyze(output));
        Assert.Equal(new[] { "CS0579" }, TestCompilation.CompilerProblems(output, result.GeneratedTrees).Select(d => d.Id));
        Assert.Contains("(CS0579)", Assert.Single(result.GeneratedTrees).ToString());
    }

    // ---- one diagnostic per mistake: with typical uses of the class, the build reports the mistake and nothing else ----
    public static TheoryData<string, string> Mistakes => new()
    {
        { "MAE002", "[Encoder(Depth = 12, Width = 1000, Heads = 16)]\n" + Decoder + "public partial class M;" },
        { "MAE003", Encoder + Decoder + "[Image(Size = 225)]\npublic partial class M;" },
        { "MAE004", Encoder + Decoder + "[Masking(Ratio = 1.5)]\npublic partial class M;" },
        { "MAE005", "[Encoder(Depth = 2, Width = 66, Heads = 3)]\n" + Decoder + "public partial class M;" },
        { "MAE006", "[Encoder(Width = 768)]\n" + Decoder + "public partial class M;" },
        { "MAE007", Encoder + "public partial class M;" },
        { "MAE007", Decoder + "public partial class M;" },
        { "MAE008", Encoder + Decoder + "[Masking(Ratio = 0.5, Strategy = MaskingStrategy.Grid)]\npublic partial class M;" },
        { "MAE009", "[Encoder(Depth = 2, Width = 64, Heads = 4, MlpRatio = 2.7)]\n" + Decoder + "public partial class M;" },
        { "MAE011", "[Encoder(Depth = 12, Width = 768, DropPath = 1.0)]\n" + Decoder + "public partial class M;" },
        { "MAE012", Encoder + Decoder + "[Image(Size = 2000000, PatchSize = 2)]\npublic partial class M;" },
        { "MAE013", "[MaeModel(Key = \"Not A Key\")]\n" + Encoder + Decoder + "public partial class M;" },
        { "CS0579", Encoder + "[Encoder(Depth = 2, Width = 64)]\n" + Decoder + "public partial class M;" },
        { "CS0029", "[Encoder(Depth = \"twelve\", Width = 768)]\n" + Decoder + "public partial class M;" },
    };

    /// <summary>What a user writes with a model class: its constructors, constants, spec and methods.</summary>
    internal const string TypicalUses = """
        public static class Uses
        {
            public static long Run()
            {
                using var model = new M(seed: 0);
                using var other = new M();
                using var images = TorchSharp.torch.zeros(2, M.Channels, M.ImageSize, M.ImageSize);
                using var output = model.forward(images);
                using var features = model.Encode(images);
                return M.ParameterCount + M.NumPatches / M.PatchSize + M.Specification.NumPatches + model.Spec.VisibleCount;
            }
        }
        """;

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_mistake_with_typical_uses_of_the_class_is_exactly_one_error(string id, string source)
    {
        var (output, result) = TestCompilation.Generate(TestCompilation.Create(Usings + source, TypicalUses));
        var errors = TestCompilation.CompilerProblems(output, result.GeneratedTrees).Concat(TestCompilation.Analyze(output))
            .Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => $"{d.Id}: {d.GetMessage(CultureInfo.InvariantCulture)}").ToList();
        Assert.True(errors.Count == 1 && errors[0].StartsWith(id + ":", StringComparison.Ordinal), $"expected one {id}, got:\n{string.Join("\n", errors)}");
    }

    [Fact]
    public void The_placeholder_declares_the_members_of_the_model_and_each_throws_naming_the_error()
    {
        static List<string> Members(Compilation output) =>
            output.GetTypeByMetadataName("M")!.GetMembers().Where(m => m.DeclaredAccessibility == Accessibility.Public)
                .Select(m => m.ToDisplayString()).Order(StringComparer.Ordinal).ToList();
        var (valid, _) = TestCompilation.Generate(TestCompilation.Create(Usings + Encoder + Decoder + "public partial class M;"));
        var (broken, _) = TestCompilation.Generate(TestCompilation.Create(Usings + "[Encoder(Depth = 12, Width = 1000, Heads = 16)]\n" + Decoder + "public partial class M;"));
        Assert.Equal(Members(valid), Members(broken));

        // if it were ever reached (the build fails first), the placeholder says why
        var type = TestCompilation.Load(broken).GetType("M")!;
        var e = Assert.Throws<System.Reflection.TargetInvocationException>(() => Activator.CreateInstance(type, 0L, null));
        Assert.Equal("'M' was not generated: its MAE attributes have an error (MAE002) that the build reports; fix it and rebuild", e.InnerException!.Message);
        Assert.Equal(1, (int)type.GetField("NumPatches")!.GetRawConstantValue()!);
    }

    // ---- MAE008 ----
    [Fact]
    public void MAE008_grid_masking_with_another_ratio() => AssertDiagnostic(
        Encoder + Decoder + "[Masking(Ratio = 0.5, Strategy = MaskingStrategy.Grid)]\npublic partial class M;",
        "MAE008", "Ratio = 0.5",
        "Grid masking keeps one patch of every 2×2, so it removes exactly 0.75 of them; Ratio 0.5 is not 0.75: use Ratio = 0.75 or Strategy = Random");

    [Fact]
    public void MAE008_grid_masking_with_an_odd_grid() => AssertDiagnostic(
        Encoder + Decoder + "[Image(PatchSize = 32)]\n[Masking(Strategy = MaskingStrategy.Grid)]\npublic partial class M;",
        "MAE008", "Strategy = MaskingStrategy.Grid",
        "Grid masking needs an even grid, but Size 224 / PatchSize 32 gives 7×7 patches; Size 192 or 256 would give an even grid");

    // ---- MAE009 ----
    [Fact]
    public void MAE009_mlp_hidden_size_not_an_integer() => AssertDiagnostic(
        "[Encoder(Depth = 2, Width = 64, Heads = 4, MlpRatio = 2.7)]\n" + Decoder + "public partial class M;",
        "MAE009", "MlpRatio = 2.7",
        "Encoder Width 64 × MlpRatio 2.7 = 172.8 is not an integer; MlpRatio 2.703125 (hidden size 173) would be");

    // ---- MAE010 ----
    [Fact]
    public void MAE010_ratio_outside_the_papers_range_is_a_warning() => AssertDiagnostic(
        Encoder + Decoder + "[Masking(Ratio = 0.9)]\npublic partial class M;",
        "MAE010", "Ratio = 0.9",
        "Masking Ratio 0.9 lies outside 0.4–0.8, where the paper found random-masking MAE to work best (Fig. 5); 0.75 is its default",
        DiagnosticSeverity.Warning);

    // ---- MAE011 ----
    [Fact]
    public void MAE011_drop_path_of_one() => AssertDiagnostic(
        "[Encoder(Depth = 12, Width = 768, DropPath = 1.0)]\n" + Decoder + "public partial class M;",
        "MAE011", "DropPath = 1.0",
        "Encoder DropPath 1 is not in [0, 1): a drop-path rate of 1 or more drops every residual branch; the official fine-tune recipe uses 0.1");

    [Fact]
    public void MAE011_drop_path_NaN() => AssertDiagnostic(
        "[Encoder(Depth = 12, Width = 768, DropPath = double.NaN)]\n" + Decoder + "public partial class M;",
        "MAE011", "DropPath = double.NaN",
        "Encoder DropPath NaN is not in [0, 1): a drop-path rate of 1 or more drops every residual branch; the official fine-tune recipe uses 0.1");

    // ---- MAE012 ----
    [Fact]
    public void MAE012_unknown_masking_strategy() => AssertDiagnostic(
        Encoder + Decoder + "[Masking(Strategy = (MaskingStrategy)7)]\npublic partial class M;",
        "MAE012", "Strategy = (MaskingStrategy)7",
        "Masking Strategy 7 is not a MaskingStrategy; use Random, Block or Grid");

    [Fact]
    public void MAE012_sizes_beyond_an_int() => AssertDiagnostic(
        Encoder + Decoder + "[Image(Size = 2000000, PatchSize = 2)]\npublic partial class M;",
        "MAE012", "Size = 2000000",
        "Image Size 2000000 / PatchSize 2 gives 1000000×1000000 patches, more than an int counts; use a larger PatchSize or a smaller Size");

    // ---- MAE013: the registry, over all models of the compilation; each model involved is blamed ----
    private const string Small = "[Encoder(Depth = 1, Width = 64)]\n[Decoder(Depth = 1, Width = 32, Heads = 4)]\n[Image(Size = 32, PatchSize = 8)]\n";

    /// <summary>The MAE diagnostics of the sources (span, message), the generated model classes and the registered keys.</summary>
    private static (List<(string Id, string Span, string Message)> Diagnostics, List<string> Models, List<string> Registered) Registry(params string[] sources)
    {
        var (output, result) = TestCompilation.Generate(TestCompilation.Create(sources.Select(s => Usings + s).ToArray()));
        Assert.DoesNotContain(TestCompilation.CompilerProblems(output, result.GeneratedTrees), d => d.Id != "MAE013"); // the classes themselves compile
        var diagnostics = TestCompilation.Analyze(output)
            .Select(d => (d.Id, d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan), d.GetMessage(CultureInfo.InvariantCulture)))
            .OrderBy(d => d.Item2, StringComparer.Ordinal).ThenBy(d => d.Item3, StringComparer.Ordinal).ToList();
        var registered = System.Text.RegularExpressions.Regex.Matches(TestCompilation.RegistrySource(result) ?? "", "Key: \"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        return (diagnostics, TestCompilation.ModelSources(result).Keys.Order(StringComparer.Ordinal).ToList(), registered);
    }

    [Fact]
    public void MAE013_invalid_key_points_at_the_Key_argument_and_the_model_is_not_registered()
    {
        var (diagnostics, models, registered) = Registry("[MaeModel(Key = \"ViT_B16\", Description = \"mine\")]\n" + Small + "public partial class MyVit;", Small + "public partial class Other;");
        Assert.Equal(new[]
        {
            ("MAE013", "Key = \"ViT_B16\"", "Model key 'ViT_B16' of 'MyVit' is not valid: a key is lower-case letters and digits, in words joined by single '-' (^[a-z0-9]+(-[a-z0-9]+)*$); Key = \"vit-b16\" would be"),
        }, diagnostics);
        Assert.Equal(new[] { "MyVit.g.cs", "Other.g.cs" }, models); // the model itself is valid and generated
        Assert.Equal(new[] { "other" }, registered);
    }

    [Fact]
    public void MAE013_a_key_derived_from_a_non_ASCII_class_name_points_at_the_class()
    {
        var (diagnostics, _, registered) = Registry(Small + "public partial class Modèle;");
        Assert.Equal(new[]
        {
            ("MAE013", "Modèle", "The model key 'modèle' derived from the class name 'Modèle' is not valid: a key is lower-case letters and digits, in words joined by single '-' (^[a-z0-9]+(-[a-z0-9]+)*$); give one with [MaeModel(Key = \"mod-le\")]"),
        }, diagnostics);
        Assert.Empty(registered);
    }

    [Fact]
    public void MAE013_two_classes_of_one_name_in_two_namespaces_collide_at_both_class_names()
    {
        var (diagnostics, models, registered) = Registry(
            "namespace Lab.Small;\n" + Small + "public partial class TinyMae;",
            "namespace Lab.Grey;\n" + Small + "public partial class TinyMae;",
            Small + "public partial class Bystander;");
        Assert.Equal(new[]
        {
            ("MAE013", "TinyMae", "Model key 'tiny-mae' of 'TinyMae' is also the key of 'Lab.Grey.TinyMae'; the models of one assembly need different keys: give one of them [MaeModel(Key = \"...\")]"),
            ("MAE013", "TinyMae", "Model key 'tiny-mae' of 'TinyMae' is also the key of 'Lab.Small.TinyMae'; the models of one assembly need different keys: give one of them [MaeModel(Key = \"...\")]"),
        }, diagnostics);
        Assert.Equal(3, models.Count);
        Assert.Equal(new[] { "bystander" }, registered);
    }

    [Fact]
    public void MAE013_a_given_key_that_another_class_derives_points_at_the_Key_argument_and_at_the_other_class()
    {
        var (diagnostics, _, registered) = Registry(
            "[MaeModel(Key = \"tiny-mae\")]\n" + Small + "public partial class Tiny2;",
            Small + "public partial class TinyMae;");
        Assert.Equal(new[]
        {
            ("MAE013", "Key = \"tiny-mae\"", "Model key 'tiny-mae' of 'Tiny2' is also the key of 'TinyMae'; the models of one assembly need different keys: give one of them [MaeModel(Key = \"...\")]"),
            ("MAE013", "TinyMae", "Model key 'tiny-mae' of 'TinyMae' is also the key of 'Tiny2'; the models of one assembly need different keys: give one of them [MaeModel(Key = \"...\")]"),
        }, diagnostics);
        Assert.Empty(registered);
    }

    [Fact]
    public void MAE013_two_default_models_point_at_each_Default_argument()
    {
        var (diagnostics, _, registered) = Registry(
            "[MaeModel(Default = true)]\n" + Small + "public partial class A;",
            "[MaeModel(Key = \"b\", Default = true)]\n" + Small + "public partial class B;",
            "[MaeModel(Default = false)]\n" + Small + "public partial class C;");
        Assert.Equal(new[]
        {
            ("MAE013", "Default = true", "'A' is marked Default = true, and so is 'B'; an application has one default model: keep Default = true on one of them"),
            ("MAE013", "Default = true", "'B' is marked Default = true, and so is 'A'; an application has one default model: keep Default = true on one of them"),
        }, diagnostics);
        Assert.Equal(new[] { "c" }, registered);
    }

    [Fact]
    public void MAE013_ignores_models_with_other_errors_and_models_the_registry_cannot_reach()
    {
        var (diagnostics, models, registered) = Registry(
            "[Encoder(Depth = 1, Width = 66, Heads = 3)]\n[Decoder(Depth = 1, Width = 32, Heads = 4)]\npublic partial class TinyMae;", // MAE005, no model
            "namespace Other;\n" + Small + "public partial class TinyMae;",
            "public partial class Holder\n{\n" + "[MaeModel(Key = \"Not Checked\")]\n" + Small + "private partial class Hidden;\n}");
        Assert.Equal(new[] { "MAE005" }, diagnostics.Select(d => d.Id));
        Assert.Equal(new[] { "Holder+Hidden.g.cs", "Other.TinyMae.g.cs", "TinyMae.g.cs" }, models); // a private nested model is generated, not registered; TinyMae is the MAE005 placeholder
        Assert.Equal(new[] { "tiny-mae" }, registered);
    }

    /// <summary>A library compiled with the generator: its registry's keys travel in its assembly attributes.</summary>
    private static MetadataReference Library(string name, string source)
    {
        var (output, result) = TestCompilation.Generate(TestCompilation.Create(Usings + source).WithAssemblyName(name));
        Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees));
        Assert.Empty(TestCompilation.Analyze(output));
        return MetadataReference.CreateFromImage(TestCompilation.Emit(output));
    }

    /// <summary>The MAE diagnostics of a host that references <paramref name="libraries"/>: (id, span or "" for none, message).</summary>
    private static List<(string Id, string Span, string Message)> Host(string source, params MetadataReference[] libraries)
    {
        var (output, _) = TestCompilation.Generate(TestCompilation.Create(Usings + source).AddReferences(libraries));
        return TestCompilation.Analyze(output)
            .Select(d => (d.Id, d.Location.SourceTree?.GetText().ToString(d.Location.SourceSpan) ?? "", d.GetMessage(CultureInfo.InvariantCulture)))
            .OrderBy(d => d.Item3, StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void MAE013_a_key_a_referenced_library_or_the_presets_already_have_is_reported_in_the_host()
    {
        var models = Library("Models", "namespace Lib;\n[MaeModel(Key = \"lib-mae\")]\n" + Small + "public partial class LibMae;");
        Assert.Equal(new[]
        {
            ("MAE013", "Key = \"lib-mae\"", "Model key 'lib-mae' of 'Mine' is also the key of 'Lib.LibMae' of Models, which this assembly references; --model 'lib-mae' would be ambiguous: give it another Key"),
            ("MAE013", "Key = \"vit-b16\"", "Model key 'vit-b16' of 'MyVit' is also the key of 'MaeDsl.Presets.MaeVitBase16' of MaeDsl, which this assembly references; --model 'vit-b16' would be ambiguous: give it another Key"),
        }, Host("[MaeModel(Key = \"lib-mae\")]\n" + Small + "public partial class Mine;\n[MaeModel(Key = \"vit-b16\")]\n" + Small + "public partial class MyVit;", models));
        Assert.Empty(Host(Small + "public partial class Mine;", models)); // a key of its own: nothing to report
        Assert.Empty(Host("public static class NoModels;", models));
    }

    [Fact]
    public void MAE013_two_referenced_libraries_with_one_key_or_two_defaults_are_reported_in_a_host_with_no_model()
    {
        var first = Library("First", "namespace One;\n[MaeModel(Key = \"lib-mae\", Default = true)]\n" + Small + "public partial class LibMae;");
        var second = Library("Second", "namespace Two;\n[MaeModel(Key = \"lib-mae\", Default = true)]\n" + Small + "public partial class LibMae;");
        Assert.Equal(new[]
        {
            ("MAE013", "", "'One.LibMae' of First and 'Two.LibMae' of Second are each marked [MaeModel(Default = true)]; an application has one default model: keep Default = true on one of them"),
            ("MAE013", "", "Model key 'lib-mae' is declared by 'One.LibMae' of First and 'Two.LibMae' of Second, which this assembly references; --model 'lib-mae' would be ambiguous: change the key in one of them"),
        }, Host("public static class Program;", first, second));
        Assert.Equal(new[]
        {
            ("MAE013", "Default = true", "'Mine' is marked Default = true, and so is 'One.LibMae' of First, which this assembly references; an application has one default model: keep Default = true on one of them"),
        }, Host("[MaeModel(Default = true)]\n" + Small + "public partial class Mine;", first));
    }

    [Fact]
    public void Several_mistakes_are_all_reported_at_their_arguments()
    {
        var diagnostics = TestCompilation.Diagnose(Usings + "[Encoder(Depth = 12, Width = 1000, Heads = 16)]\n[Decoder(Depth = 0, Width = 510)]\n[Image(Size = 225)]\npublic partial class M;");
        var found = diagnostics.Select(d => (d.Id, d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan))).OrderBy(x => x.Id).ThenBy(x => x.Item2).ToList();
        Assert.Equal(new[]
        {
            ("MAE002", "Width = 1000"),
            ("MAE002", "Width = 510"),
            ("MAE003", "Size = 225"),
            ("MAE005", "Width = 510"),
            ("MAE006", "Depth = 0"),
        }, found);
    }

    [Fact]
    public void Every_diagnostic_has_its_documentation_page()
    {
        string docs = Path.Combine(RepositoryRoot(), "docs", "diagnostics");
        foreach (var descriptor in DiagnosticDescriptors.All)
        {
            string page = Path.Combine(docs, descriptor.Id + ".md");
            Assert.True(File.Exists(page), $"{descriptor.Id} has no documentation page {page}");
            Assert.EndsWith($"/docs/diagnostics/{descriptor.Id}.md", descriptor.HelpLinkUri);
            Assert.StartsWith($"# {descriptor.Id}", File.ReadAllText(page));
        }
    }

    /// <summary>Directory.Build.props' RepositoryUrl, as the SDK wrote it into this test assembly too.</summary>
    internal static string RepositoryUrl { get; } = typeof(DiagnosticTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
        .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryUrl").Value!;

    [Fact]
    public void The_help_links_derive_from_the_one_RepositoryUrl()
    {
        string props = File.ReadAllText(Path.Combine(RepositoryRoot(), "Directory.Build.props"));
        Assert.Contains($"<RepositoryUrl>{RepositoryUrl}</RepositoryUrl>", props);
        Assert.Equal(RepositoryUrl, DiagnosticDescriptors.RepositoryUrl);
        Assert.All(DiagnosticDescriptors.All, d => Assert.Equal($"{RepositoryUrl}/blob/main/docs/diagnostics/{d.Id}.md", d.HelpLinkUri));
    }

    internal static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", ".."));
}

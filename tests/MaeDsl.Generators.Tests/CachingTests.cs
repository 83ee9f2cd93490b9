using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// The incremental pipeline: a second run on an edited but equivalent compilation is Cached or
/// Unchanged in every tracked step, and no step output holds a symbol, a syntax node or a compilation.
/// </summary>
public class CachingTests
{
    private static readonly string[] TrackedSteps = typeof(TrackingNames)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToArray();

    [Fact]
    public void The_tracked_steps_are_the_pipeline_steps() =>
        Assert.Equal(new[] { TrackingNames.InitialExtraction, TrackingNames.RemovingNulls, TrackingNames.RegistryEntries, TrackingNames.Registry }, TrackedSteps);

    [Theory]
    [InlineData("comment")]
    [InlineData("unrelated file")]
    [InlineData("method body")]
    public void An_equivalent_edit_leaves_every_step_cached_or_unchanged(string edit)
    {
        var compilation = TestCompilation.Create(Variants.Tiny, Variants.NestedSplit, "namespace Other { public class Helper { public int Value() => 1; } }");
        var driver = TestCompilation.Driver().RunGenerators(compilation);
        var first = driver.GetRunResult();
        Assert.Equal(2, TestCompilation.ModelTrees(first).Length);
        Assert.NotNull(TestCompilation.RegistrySource(first));

        Compilation edited = edit switch
        {
            // the model's own file, re-parsed with a trailing comment: the transform runs again and yields an equal model
            "comment" => Replace(compilation, 0, Variants.Tiny + "\n// an edit that changes nothing\n"),
            // another file changes: the model's file is untouched
            "unrelated file" => Replace(compilation, 2, "namespace Other { public class Helper { public int Value() => 2; } }"),
            // a member body inside the model class itself
            "method body" => Replace(compilation, 1, Variants.NestedSplit.Replace("$\"{NumPatches} patches\"", "$\"{NumPatches} patches in all\"")),
            _ => throw new ArgumentOutOfRangeException(nameof(edit)),
        };
        var second = driver.RunGenerators(edited).GetRunResult();

        AssertSameOutputs(first, second);
        foreach (string step in TrackedSteps)
        {
            var runs = second.Results[0].TrackedSteps[step];
            Assert.NotEmpty(runs);
            foreach (var run in runs)
                foreach (var (_, reason) in run.Outputs)
                    Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                        $"step {step} ran with reason {reason} after the '{edit}' edit");
        }
        Assert.All(second.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(r => r.Outputs),
            output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
    }

    [Fact]
    public void A_real_change_is_seen()
    {
        var compilation = TestCompilation.Create(Variants.Tiny);
        var driver = TestCompilation.Driver().RunGenerators(compilation);
        var changed = driver.RunGenerators(Replace(compilation, 0, Variants.Tiny.Replace("Depth = 2", "Depth = 3"))).GetRunResult();
        var reasons = changed.Results[0].TrackedSteps[TrackingNames.InitialExtraction].SelectMany(r => r.Outputs).Select(o => o.Reason);
        Assert.Contains(IncrementalStepRunReason.Modified, reasons);
        Assert.Contains("public const int EncoderDepth = 3;", TestCompilation.ModelTrees(changed).Single().ToString());
    }

    [Fact]
    public void No_step_output_holds_a_symbol_a_syntax_node_or_a_compilation()
    {
        var compilation = TestCompilation.Create(Variants.All.Values.ToArray());
        var result = TestCompilation.Driver().RunGenerators(compilation).GetRunResult();
        int outputs = 0;
        foreach (string step in TrackedSteps)
            foreach (var run in result.Results[0].TrackedSteps[step])
                foreach (var (value, _) in run.Outputs)
                {
                    outputs++;
                    AssertHoldsNoRoslynObjects(value, $"{step} output", new HashSet<object>(ReferenceEqualityComparer.Instance));
                }
        Assert.True(outputs >= Variants.All.Count, $"expected the step outputs of {Variants.All.Count} models, walked {outputs}");
    }

    /// <summary>
    /// With several models, a one-character edit of one (Depth = 2 → 3) modifies that model's outputs only: every other
    /// model's per-model steps stay cached, while the registry, which holds all entries, is recomputed and re-emitted.
    /// </summary>
    [Fact]
    public void A_one_character_edit_of_one_model_leaves_the_others_cached_and_modifies_the_registry()
    {
        string[] sources = { Variants.Tiny, Variants.NormPix, Variants.MaskTokensInEncoder, Variants.Registered };
        var compilation = TestCompilation.Create(sources);
        var driver = TestCompilation.Driver().RunGenerators(compilation);
        var first = TestCompilation.GeneratedSources(driver.GetRunResult());
        var second = driver.RunGenerators(Replace(compilation, 1, Variants.NormPix.Replace("Depth = 2,", "Depth = 3,"))).GetRunResult();
        var run = second.Results[0];

        foreach (string step in new[] { TrackingNames.InitialExtraction, TrackingNames.RemovingNulls, TrackingNames.RegistryEntries })
        {
            var reasons = run.TrackedSteps[step].SelectMany(r => r.Outputs).Select(o => o.Reason).ToList();
            Assert.Equal(sources.Length, reasons.Count);
            Assert.Equal(1, reasons.Count(r => r == IncrementalStepRunReason.Modified));
            var others = reasons.Where(r => r != IncrementalStepRunReason.Modified).ToList();
            if (step == TrackingNames.InitialExtraction) // the transform runs on a new compilation and yields equal models
                Assert.All(others, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {r}"));
            else
                Assert.All(others, r => Assert.Equal(IncrementalStepRunReason.Cached, r));
        }
        Assert.Equal(IncrementalStepRunReason.Modified, run.TrackedSteps[TrackingNames.Registry].Single().Outputs.Single().Reason);

        // the outputs: the edited model's file and the registry are written again, the other three files are cached
        var outputs = run.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(r => r.Outputs).Select(o => o.Reason).ToList();
        Assert.Equal(3, outputs.Count(r => r == IncrementalStepRunReason.Cached));
        Assert.Equal(2, outputs.Count(r => r == IncrementalStepRunReason.Modified));
        var changed = TestCompilation.GeneratedSources(second).Where(s => first[s.Key] != s.Value).Select(s => s.Key).Order(StringComparer.Ordinal);
        Assert.Equal(new[] { TestCompilation.RegistryHintName, "Tests.Ablations.NormPixMae.g.cs" }, changed);
        Assert.Contains("encoder 3×64", TestCompilation.RegistrySource(second));
    }

    [Theory]
    [InlineData("[MaeDsl.Decoder(Depth = 3, Width = 32, Heads = 4)]", "public const int DecoderDepth = 3;")]
    [InlineData("[MaeDsl.Decoder(Depth = 1, Width = 32, Heads = 4)] [MaeDsl.Masking(Ratio = 0.5)]", "public const int VisibleCount = 8;")]
    public void An_edit_of_an_attribute_in_another_partial_declaration_is_seen(string otherPart, string expected)
    {
        const string encoderPart = "[MaeDsl.Encoder(Depth = 1, Width = 64)] [MaeDsl.Image(Size = 32, PatchSize = 8)] public partial class Split;";
        const string decoderPart = "[MaeDsl.Decoder(Depth = 1, Width = 32, Heads = 4)] public partial class Split;";
        var compilation = TestCompilation.Create(encoderPart, decoderPart);
        var driver = TestCompilation.Driver().RunGenerators(compilation);
        Assert.Contains("public const int DecoderDepth = 1;", TestCompilation.ModelTrees(driver.GetRunResult()).Single().ToString());

        var edited = driver.RunGenerators(Replace(compilation, 1, otherPart + " public partial class Split;")).GetRunResult();
        Assert.Contains(expected, TestCompilation.ModelTrees(edited).Single().ToString());
    }

    [Fact]
    public void A_nested_class_and_a_namespace_of_the_same_name_get_different_files()
    {
        const string attributes = "[MaeDsl.Encoder(Depth = 1, Width = 64)] [MaeDsl.Decoder(Depth = 1, Width = 32, Heads = 4)] [MaeDsl.Image(Size = 32, PatchSize = 8)]";
        var (output, result) = TestCompilation.Generate(TestCompilation.Create(
            $"namespace A.Outer {{ {attributes} public partial class X; }}",
            $"namespace A {{ public partial class Outer {{ {attributes} public partial class X; }} }}"));
        // The compiler refuses namespace A.Outer beside class A.Outer (CS0101); the generator must still not
        // throw on a duplicate hint name (Generate asserts no generator exception). Both models have the key "x" (MAE013),
        // so neither is registered and no registry is written.
        Assert.Equal(new[] { "A.Outer+X.g.cs", "A.Outer.X.g.cs" }, TestCompilation.GeneratedSources(result).Keys.Order(StringComparer.Ordinal));
        Assert.Contains(output.GetDiagnostics(), d => d.Id == "CS0101");
    }

    private static void AssertHoldsNoRoslynObjects(object? value, string path, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum) return;
        if (!value.GetType().IsValueType && !seen.Add(value)) return;
        Assert.False(value is Compilation or ISymbol or SyntaxNode or SyntaxTree or SemanticModel or Location or AttributeData,
            $"{path} holds a {value.GetType().FullName}");
        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (object? item in items) AssertHoldsNoRoslynObjects(item, $"{path}[{i++}]", seen);
        }
        for (var type = value.GetType(); type is not null && type != typeof(object); type = type.BaseType)
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                AssertHoldsNoRoslynObjects(field.GetValue(value), $"{path}.{field.Name}", seen);
    }

    private static void AssertSameOutputs(GeneratorDriverRunResult first, GeneratorDriverRunResult second)
    {
        var a = TestCompilation.GeneratedSources(first);
        var b = TestCompilation.GeneratedSources(second);
        Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
        foreach (var (hint, text) in a) Assert.Equal(text, b[hint]);
    }

    private static Compilation Replace(Compilation compilation, int index, string source)
    {
        var old = compilation.SyntaxTrees.ElementAt(index);
        return compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(source, TestCompilation.ParseOptions, old.FilePath));
    }
}

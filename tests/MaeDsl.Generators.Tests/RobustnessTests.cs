using System.Globalization;
using Microsoft.CodeAnalysis;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// Extreme attribute values: the generator and the analyzer never throw (the helpers fail on CS8785 or
/// AD0001); a value either builds (a source, no MAE error) or is an MAE error (nothing generated).
/// </summary>
public class RobustnessTests
{
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        string[] ints = { "int.MinValue", "-1", "0", "1", "3", "int.MaxValue" };
        string[] doubles = { "double.NaN", "double.PositiveInfinity", "double.NegativeInfinity", "-1.0", "0.0", "1e-300", "1.0", "1e308" };
        foreach (var (attribute, argument) in new[] { ("Encoder", "Depth"), ("Encoder", "Width"), ("Encoder", "Heads"), ("Decoder", "Depth"), ("Decoder", "Width"), ("Decoder", "Heads"), ("Image", "Size"), ("Image", "PatchSize"), ("Image", "Channels") })
            foreach (string value in ints) data.Add(attribute, argument, value);
        foreach (var (attribute, argument) in new[] { ("Encoder", "MlpRatio"), ("Encoder", "DropPath"), ("Decoder", "MlpRatio"), ("Masking", "Ratio") })
            foreach (string value in doubles) data.Add(attribute, argument, value);
        foreach (string value in new[] { "(MaskingStrategy)(-1)", "(MaskingStrategy)3", "(MaskingStrategy)int.MaxValue" })
            data.Add("Masking", "Strategy", value);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Any_value_gives_a_model_or_an_MAE_error_and_never_throws(string attribute, string argument, string value)
    {
        var values = new Dictionary<string, List<string>>
        {
            ["Encoder"] = new() { "Depth = 2", "Width = 64", "Heads = 4" },
            ["Decoder"] = new() { "Depth = 1", "Width = 32", "Heads = 4" },
            ["Image"] = new() { "Size = 32", "PatchSize = 8" },
            ["Masking"] = new(),
        };
        values[attribute].RemoveAll(a => a.StartsWith(argument + " ", StringComparison.Ordinal));
        values[attribute].Add($"{argument} = {value}");
        string source = "using MaeDsl;\n" + string.Concat(values.Select(kv => $"[{kv.Key}({string.Join(", ", kv.Value)})]\n")) + "public partial class Extreme;";

        var (output, result) = TestCompilation.Generate(TestCompilation.Create(source));
        var errors = TestCompilation.Analyze(output).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            Assert.Contains("Not generated:", Assert.Single(result.GeneratedTrees).ToString()); // the placeholder, never registered
            Assert.All(errors, e => Assert.False(string.IsNullOrWhiteSpace(e.GetMessage(CultureInfo.InvariantCulture))));
            Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees));
        }
        else
        {
            Assert.Single(TestCompilation.ModelTrees(result));
            Assert.Empty(TestCompilation.CompilerProblems(output, result.GeneratedTrees));
        }
    }
}

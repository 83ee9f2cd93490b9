// --precision fp32|bf16: the one declaration of the matmuls' number format, for the training commands (RunOptions.Precision),
// bench and the inference commands (each command gets its own instance: an option belongs to one command).
using System.CommandLine;
using MaeDsl.Model;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>Creates and reads the <c>--precision</c> option.</summary>
internal static class PrecisionOption
{
    /// <summary>A new <c>--precision</c> whose default is <paramref name="defaultPrecision"/>; <paramref name="use"/> says what it applies to.</summary>
    public static Option<string> Create(string use, Precision defaultPrecision = Precision.Fp32) => new("--precision")
    {
        Description = $"Number format of the matmuls{use}: fp32, or bf16 (bf16 matmuls; fp32 weights, optimizer state, LayerNorm, softmax sums and loss; see docs/precision.md)",
        DefaultValueFactory = _ => MixedPrecision.Name(defaultPrecision),
    };

    /// <summary>The value of <paramref name="option"/>; fp32 or bf16, else an <see cref="InvalidOptionException"/> (one error line).
    /// A command that does not offer the option (<c>results</c>) runs in fp32.</summary>
    public static Precision Read(ParseResult parse, Option<string> option)
    {
        if (parse.GetResult(option) is null) return Precision.Fp32;
        string value = parse.GetValue(option) ?? "";
        OptionCheck.Require(value is "fp32" or "bf16", "--precision", value, "must be fp32 or bf16");
        return value == "bf16" ? Precision.Bf16 : Precision.Fp32;
    }
}

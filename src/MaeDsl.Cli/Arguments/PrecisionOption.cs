// --precision fp32|bf16: the one declaration of the matmuls' number format, for the training commands (RunOptions.Precision),
// bench and the inference commands (each command gets its own instance: an option belongs to one command).
using System.CommandLine;
using MaeDsl.Model;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>Creates and reads the <c>--precision</c> option.</summary>
internal static class PrecisionOption
{
    /// <summary>The default of every command but bench: bf16 where the CPU multiplies bf16 in hardware, else fp32.</summary>
    public const string Auto = "auto";

    /// <summary>A new <c>--precision</c> whose default is <paramref name="defaultValue"/> (<see cref="Auto"/>, or fp32 for bench);
    /// <paramref name="use"/> says what it applies to.</summary>
    public static Option<string> Create(string use, string defaultValue = Auto) => new("--precision")
    {
        Description = $"Number format of the matmuls{use}: fp32, bf16 (bf16 matmuls; fp32 weights, optimizer state, LayerNorm, softmax sums and loss), " +
                      $"or auto: bf16 on a CPU that multiplies bf16 in hardware (AVX512_BF16, AMX), else fp32 (here: {MixedPrecision.Name(Resolve(Auto))}); see {ProjectLinks.Doc("precision.md")}",
        DefaultValueFactory = _ => defaultValue,
    };

    /// <summary>The value of <paramref name="option"/>, auto resolved for this CPU; else an <see cref="InvalidOptionException"/> (one error line).
    /// A command that does not offer the option (<c>results</c>) runs in fp32.</summary>
    public static Precision Read(ParseResult parse, Option<string> option)
    {
        if (parse.GetResult(option) is null) return Precision.Fp32;
        string value = parse.GetValue(option) ?? "";
        OptionCheck.Require(value is "fp32" or "bf16" or Auto, "--precision", value, "must be fp32, bf16 or auto");
        return Resolve(value);
    }

    static Precision Resolve(string value) => value switch
    {
        "bf16" => Precision.Bf16,
        Auto => MixedPrecision.HardwareBf16 ? Precision.Bf16 : Precision.Fp32,
        _ => Precision.Fp32,
    };
}

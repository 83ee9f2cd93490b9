// --precision fp32|bf16|auto: the one declaration of the matmuls' number format, for the training commands (RunOptions.Precision),
// bench and the inference commands (each command gets its own instance: an option belongs to one command), and the resolution
// of auto by measurement once the command knows its model (MaeDsl.AutoPrecision).
using System.CommandLine;
using MaeDsl.Checkpoints;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>The precision a command runs and, for <c>auto</c>, why (the recipe line prints it; config.json records <see cref="Auto"/>).</summary>
internal sealed record PrecisionChoice(Precision Precision, AutoPrecisionDecision? Auto = null)
{
    /// <summary>config.json's "derived" key of the auto decision.</summary>
    public const string DerivedKey = "precision_auto";

    /// <summary><c>bf16</c> as given, or the auto decision: <c>fp32 (auto: bf16 measured 0.69× here)</c>.</summary>
    public override string ToString() => Auto?.ToString() ?? MixedPrecision.Name(Precision);
}

/// <summary>Creates and reads the <c>--precision</c> option.</summary>
internal static class PrecisionOption
{
    /// <summary>The default of every command but bench: whichever of fp32 and bf16 a measurement on this machine finds faster.</summary>
    public const string Auto = "auto";

    /// <summary>Test-only: the cache auto uses in this async flow instead of the user's (a test's own file, its entries injected).</summary>
    internal static readonly AsyncLocal<PrecisionCache?> CacheForTests = new();

    /// <summary>A new <c>--precision</c> whose default is <paramref name="defaultValue"/> (<see cref="Auto"/>, or fp32 for bench);
    /// <paramref name="use"/> says what it applies to.</summary>
    public static Option<string> Create(string use, string defaultValue = Auto) => new("--precision")
    {
        Description = $"Number format of the matmuls{use}: fp32, bf16 (bf16 matmuls; fp32 weights, optimizer state, LayerNorm, softmax sums and loss), " +
                      $"or auto: bf16 where a short measurement of this model's step on this machine finds it at least " +
                      $"{AutoPrecision.Margin:0.0#}× faster than fp32, " +
                      $"else fp32 (cached per CPU, libtorch, threads and model in {PrecisionCache.DefaultPath()}); see {ProjectLinks.Doc("precision.md")}",
        DefaultValueFactory = _ => defaultValue,
    };

    /// <summary>True when <paramref name="option"/> is offered and its value is <see cref="Auto"/> (given or by default).</summary>
    public static bool IsAuto(ParseResult parse, Option<string> option) => parse.GetResult(option) is not null && parse.GetValue(option) == Auto;

    /// <summary>The value of <paramref name="option"/>, checked (else an <see cref="InvalidOptionException"/>: one error line).
    /// <see cref="Auto"/> reads as fp32, its answer to a tie, until the command knows its model and calls <see cref="Choose"/>
    /// or <see cref="Decide"/>. A command that does not offer the option (<c>results</c>) runs in fp32.</summary>
    public static Precision Read(ParseResult parse, Option<string> option)
    {
        if (parse.GetResult(option) is null) return Precision.Fp32;
        string value = parse.GetValue(option) ?? "";
        OptionCheck.Require(value is "fp32" or "bf16" or Auto, "--precision", value, "must be fp32, bf16 or auto");
        return value == "bf16" ? Precision.Bf16 : Precision.Fp32;
    }

    /// <summary>An inference command's precision for a model of <paramref name="spec"/> encoding <paramref name="batch"/> images at a time
    /// (auto: measured, or cached; torch's thread count must be set already), printed as <c>precision: …</c>.</summary>
    public static Precision Decide(ParseResult parse, Option<string> option, MaeSpec spec, int batch, PrecisionWorkload workload = PrecisionWorkload.Encode)
    {
        var choice = Choose(IsAuto(parse, option), Read(parse, option), spec, workload, batch);
        Console.WriteLine($"precision: {choice}");
        return choice.Precision;
    }

    /// <summary>
    /// A training run's precision: <paramref name="given"/> unless <paramref name="auto"/>; then the precision a resumed run's checkpoint
    /// records (a resume keeps its trajectory, on any machine), else the measured decision for <paramref name="workload"/> at the run's shapes.
    /// </summary>
    public static PrecisionChoice Choose(bool auto, Precision given, MaeSpec spec, PrecisionWorkload workload, int batch, string? resume = null)
    {
        if (!auto || (resume is not null && !File.Exists(resume))) return new PrecisionChoice(given);   // a missing checkpoint: the loop says so
        if (resume is not null)
        {
            var recorded = RunConfig.Parse(CheckpointStore.ReadInfo(resume).Config, resume).Run.Precision;
            return new PrecisionChoice(recorded, new AutoPrecisionDecision(recorded, PrecisionSource.Resumed));
        }
        var decision = AutoPrecision.Decide(spec, workload, batch, CacheForTests.Value);
        return new PrecisionChoice(decision.Precision, decision);
    }
}

// Every numeric option of every command is read in the invariant culture ('.' decimal point, no thousands separator),
// whatever LANG/LC_ALL say: System.CommandLine's own conversion uses the current culture, where de_DE reads 0.001 as 1.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace MaeDsl.Cli;

/// <summary>Sets an invariant parser on every numeric option of a command tree (int, long, double, float and their nullables).</summary>
internal static class InvariantNumbers
{
    const NumberStyles Whole = NumberStyles.AllowLeadingSign;
    const NumberStyles Real = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    /// <summary>Sets the parser on the options of <paramref name="command"/> and of its subcommands (an option that has one keeps it).</summary>
    public static void Apply(Command command)
    {
        foreach (var option in command.Options) Apply(option);
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    static void Apply(Option option)
    {
        switch (option)
        {
            case Option<int> o: o.CustomParser ??= r => Read(o, r, Int, WholeWords(int.MinValue, int.MaxValue)); break;
            case Option<int?> o: o.CustomParser ??= r => ReadNullable(o, r, Int, WholeWords(int.MinValue, int.MaxValue)); break;
            case Option<long> o: o.CustomParser ??= r => Read(o, r, Long, WholeWords(long.MinValue, long.MaxValue)); break;
            case Option<long?> o: o.CustomParser ??= r => ReadNullable(o, r, Long, WholeWords(long.MinValue, long.MaxValue)); break;
            case Option<double> o: o.CustomParser ??= r => Read(o, r, Double, RealWords); break;
            case Option<double?> o: o.CustomParser ??= r => ReadNullable(o, r, Double, RealWords); break;
            case Option<float> o: o.CustomParser ??= r => Read(o, r, Float, RealWords); break;
            case Option<float?> o: o.CustomParser ??= r => ReadNullable(o, r, Float, RealWords); break;
        }
    }

    static bool Int(string s, out int v) => int.TryParse(s, Whole, CultureInfo.InvariantCulture, out v);
    static bool Long(string s, out long v) => long.TryParse(s, Whole, CultureInfo.InvariantCulture, out v);
    static bool Double(string s, out double v) => double.TryParse(s, Real, CultureInfo.InvariantCulture, out v);
    static bool Float(string s, out float v) => float.TryParse(s, Real, CultureInfo.InvariantCulture, out v);

    delegate bool TryParse<T>(string text, out T value);

    static string RealWords(string text) => "is not a number: write it with a '.' decimal point and no thousands separator (e.g. 0.001, 1.5e-4)";

    /// <summary>"is not a whole number from min to max", and for a whole number written otherwise (1e9) the digits to type.</summary>
    static Func<string, string> WholeWords(long min, long max) => text =>
    {
        var c = CultureInfo.InvariantCulture;
        string words = string.Create(c, $"is not a whole number from {min} to {max}");
        return double.TryParse(text, Real, c, out double d) && double.IsFinite(d) && d == Math.Floor(d) && d >= min && d <= max
            ? words + $": write it in digits, {((decimal)d).ToString(c)}" : words;
    };

    static T Read<T>(Option<T> option, ArgumentResult result, TryParse<T> parse, Func<string, string> words) where T : struct
    {
        if (result.Tokens.Count == 0) return option.DefaultValueFactory is { } d ? d(result) : default;
        string text = result.Tokens[^1].Value;
        if (parse(text, out T value)) return value;
        result.AddError($"{option.Name} '{text}' {words(text)}");
        return default;
    }

    static T? ReadNullable<T>(Option<T?> option, ArgumentResult result, TryParse<T> parse, Func<string, string> words) where T : struct
    {
        if (result.Tokens.Count == 0) return option.DefaultValueFactory is { } d ? d(result) : null;
        string text = result.Tokens[^1].Value;
        if (parse(text, out T value)) return value;
        result.AddError($"{option.Name} '{text}' {words(text)}");
        return null;
    }
}

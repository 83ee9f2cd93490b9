using System.Diagnostics;
using System.Globalization;

namespace MaeDsl.Benchmarks;

/// <summary>Arguments, medians and interleaved timing shared by the subcommands.</summary>
static class Harness
{
    public static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Seconds(Action action)
    {
        var watch = Stopwatch.StartNew();
        action();
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>Runs each case once to warm up, then <paramref name="rounds"/> rounds of every case in turn; per-case seconds.</summary>
    public static List<double>[] Interleaved(int rounds, params Action[] cases)
    {
        foreach (var c in cases) c();
        var seconds = cases.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < cases.Length; i++)
                seconds[i].Add(Seconds(cases[i]));
        return seconds;
    }

    public static string F(double value, int digits = 2) => value.ToString("F" + digits, C);

    public static string Machine() =>
        $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, load {Load()}";

    public static string Load()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}

/// <summary>"--name value" options after the subcommand.</summary>
sealed class Options(string[] args)
{
    public int Int(string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return fallback;
        if (i + 1 >= args.Length || !int.TryParse(args[i + 1], out int value) || value < 1)
            throw new ArgumentException($"{name} takes a positive whole number");
        return value;
    }

    public string? String(string name)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return null;
        if (i + 1 >= args.Length) throw new ArgumentException($"{name} takes a value");
        return args[i + 1];
    }

    public bool Flag(string name) => Array.IndexOf(args, name) >= 0;
}

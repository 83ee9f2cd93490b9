// AutoPrecision: the measured choice between fp32 and bf16 matmuls (the runner's --precision auto): the rule (bf16 only when
// clearly faster, a tie is fp32), what a decision says and records, and the per-machine cache of measurements.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MaeDsl.IO;

namespace MaeDsl;

/// <summary>What a calibration times: a pre-training step, a fine-tuning step, or the unmasked encode (inference, linear probe).</summary>
internal enum PrecisionWorkload
{
    /// <summary>An MAE pre-training step (masked forward, loss, backward).</summary>
    Pretrain,
    /// <summary>A classifier step (unmasked encoder, head, backward): fine-tuning.</summary>
    Classifier,
    /// <summary>The unmasked encoder, forward only: inference commands, the linear probe's frozen encoder.</summary>
    Encode,
}

/// <summary>Seconds of the same calibration step in fp32 and in bf16 (the fastest of its repetitions).</summary>
internal sealed record PrecisionMeasurement(double Fp32Seconds, double Bf16Seconds)
{
    /// <summary>How many times faster bf16 ran than fp32 (0.69: bf16 is slower; 2: twice as fast).</summary>
    public double Bf16Speedup => Fp32Seconds / Bf16Seconds;
}

/// <summary>What a measurement is valid for: the CPU, libtorch, the thread count and the shapes timed.</summary>
internal sealed record PrecisionKey(string Cpu, string Libtorch, int Threads, string Shape)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Cpu} | libtorch {Libtorch} | {Threads} threads | {Shape}");

    /// <summary>This machine's key for <paramref name="shape"/> at torch's current thread count.</summary>
    public static PrecisionKey ForThisMachine(string shape)
    {
        Native.TorchRuntime.EnsureLoaded();   // libtorch loads after the native settings, never from here first
        return new(CpuModel.Value, TorchSharp.torch.__version__, TorchSharp.torch.get_num_threads(), shape);
    }

    static readonly Lazy<string> CpuModel = new(() =>
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int colon and >= 0)
                        return line[(colon + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} ({Environment.ProcessorCount} logical CPUs)";
    });
}

/// <summary>Where a decision came from.</summary>
internal enum PrecisionSource
{
    /// <summary>Measured in this process.</summary>
    Measured,
    /// <summary>A measurement of an earlier process on this machine (<see cref="PrecisionCache"/>).</summary>
    Cached,
    /// <summary>A resumed run: the precision its checkpoint records, not measured again (a resume keeps its trajectory).</summary>
    Resumed,
}

/// <summary>The outcome of <c>--precision auto</c>: the precision that runs and why.</summary>
internal sealed record AutoPrecisionDecision(Precision Precision, PrecisionSource Source, PrecisionMeasurement? Measurement = null, PrecisionKey? Key = null)
{
    /// <summary>What the recipe line prints: <c>fp32 (auto: bf16 measured 0.69× here)</c>, <c>bf16 (auto: bf16 measured 1.85× here, cached)</c>,
    /// <c>fp32 (auto: the resumed run's)</c>.</summary>
    public override string ToString()
    {
        string name = MixedPrecision.Name(Precision);
        if (Measurement is not { } m) return $"{name} (auto: the resumed run's)";
        return string.Create(CultureInfo.InvariantCulture,
            $"{name} (auto: bf16 measured {m.Bf16Speedup:F2}× here{(Source == PrecisionSource.Cached ? ", cached" : "")})");
    }

    /// <summary>config.json's record of the decision (under "derived"): what was asked, what ran, why.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["requested"] = "auto",
            ["ran"] = MixedPrecision.Name(Precision),
            ["source"] = Source.ToString().ToLowerInvariant(),
        };
        if (Measurement is { } m)
        {
            json["bf16_speedup"] = Math.Round(m.Bf16Speedup, 4);
            json["bf16_needed"] = AutoPrecision.Margin;
            json["fp32_step_seconds"] = m.Fp32Seconds;
            json["bf16_step_seconds"] = m.Bf16Seconds;
        }
        if (Key is { } k) json["measured_on"] = k.ToString();
        return json;
    }
}

/// <summary>
/// <c>--precision auto</c>: bf16 where a measurement on this machine says it is clearly faster, fp32 otherwise. CPU flags cannot
/// tell the machines apart (an Intel Xeon with AVX512_BF16 and no AMX runs bf16 matmuls at half its fp32 rate; an AMD Zen 5
/// with the same flag at four times), a measurement can.
/// </summary>
internal static class AutoPrecision
{
    /// <summary>bf16 runs only when it measured at least this many times faster than fp32: precision is a numeric choice,
    /// so a tie (or a gain within a calibration's noise) goes to fp32.</summary>
    public const double Margin = 1.2;

    /// <summary>The rule: bf16 when <paramref name="bf16Speedup"/> ≥ <see cref="Margin"/>, fp32 otherwise (also for NaN).</summary>
    public static Precision Choose(double bf16Speedup) => bf16Speedup >= Margin ? Precision.Bf16 : Precision.Fp32;

    /// <summary>
    /// The decision for <paramref name="key"/>: the cached measurement when <paramref name="cache"/> holds one, else
    /// <paramref name="measure"/>'s (then stored). <paramref name="cache"/> null: always measure.
    /// </summary>
    public static AutoPrecisionDecision Decide(PrecisionKey key, Func<PrecisionMeasurement> measure, PrecisionCache? cache)
    {
        if (cache?.Lookup(key) is { } known)
            return new AutoPrecisionDecision(Choose(known.Bf16Speedup), PrecisionSource.Cached, known, key);
        var measured = measure();
        cache?.Store(key, measured);
        return new AutoPrecisionDecision(Choose(measured.Bf16Speedup), PrecisionSource.Measured, measured, key);
    }

    /// <summary>
    /// The decision for a model of <paramref name="spec"/> running <paramref name="workload"/> at <paramref name="batch"/> images on
    /// this machine (torch's current thread count): the cached one, or a calibration (<see cref="PrecisionCalibration"/>).
    /// </summary>
    public static AutoPrecisionDecision Decide(MaeSpec spec, PrecisionWorkload workload, int batch, PrecisionCache? cache = null)
    {
        var calibration = new PrecisionCalibration(spec, workload, batch);
        return Decide(PrecisionKey.ForThisMachine(calibration.Shape), calibration.Measure, cache ?? PrecisionCache.Default());
    }
}

/// <summary>
/// The measurements of earlier processes, one JSON file per user: <c>$MAEDSL_PRECISION_CACHE</c> if set, else
/// <c>$XDG_CACHE_HOME/maedsl/precision.json</c>, else <c>~/.cache/maedsl/precision.json</c>. Each entry is keyed by
/// <see cref="PrecisionKey"/> (CPU model, libtorch version, threads, shapes), so another CPU, libtorch or thread count
/// measures again. Written atomically (<see cref="AtomicFile"/>): processes that race each write a whole file, and an
/// entry lost to a race is measured again later. An unreadable file is a miss (and is replaced), never an error.
/// </summary>
internal sealed class PrecisionCache(string path)
{
    /// <summary>The environment variable that names the cache file (tests point it at a folder of their own).</summary>
    public const string EnvironmentVariable = "MAEDSL_PRECISION_CACHE";
    const int Version = 1;
    /// <summary>Entries kept; the oldest go first.</summary>
    const int MaxEntries = 64;

    public string Path { get; } = path;

    /// <summary>The cache at the path the environment gives (see the class).</summary>
    public static PrecisionCache Default() => new(DefaultPath());

    /// <summary>See the class.</summary>
    public static string DefaultPath() =>
        DefaultPath(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The path for the environment <paramref name="variable"/> gives and the home folder <paramref name="home"/>.</summary>
    internal static string DefaultPath(Func<string, string?> variable, string home)
    {
        if (variable(EnvironmentVariable) is { Length: > 0 } given) return System.IO.Path.GetFullPath(given);
        string root = variable("XDG_CACHE_HOME") is { Length: > 0 } xdg && System.IO.Path.IsPathRooted(xdg) ? xdg   // the XDG spec: a relative value is ignored
            : System.IO.Path.Combine(home, ".cache");
        return System.IO.Path.Combine(root, "maedsl", "precision.json");
    }

    /// <summary>The measurement stored for <paramref name="key"/>, or null (none, or an unreadable file).</summary>
    public PrecisionMeasurement? Lookup(PrecisionKey key)
    {
        if (ReadEntries()?[key.ToString()] is not JsonObject entry) return null;
        try
        {
            double fp32 = entry["fp32_step_seconds"]!.GetValue<double>(), bf16 = entry["bf16_step_seconds"]!.GetValue<double>();
            return fp32 > 0 && bf16 > 0 && double.IsFinite(fp32) && double.IsFinite(bf16) ? new PrecisionMeasurement(fp32, bf16) : null;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException) { return null; }
    }

    /// <summary>Adds (or replaces) the entry of <paramref name="key"/>; a cache that cannot be written is left as it is (the
    /// decision stands; the next process measures again).</summary>
    public void Store(PrecisionKey key, PrecisionMeasurement measurement)
    {
        try
        {
            var entries = ReadEntries() ?? new JsonObject();   // read again just before writing: another process's entries are kept
            entries.Remove(key.ToString());
            while (entries.Count >= MaxEntries) entries.Remove(entries.First().Key);
            entries[key.ToString()] = new JsonObject
            {
                ["fp32_step_seconds"] = measurement.Fp32Seconds,
                ["bf16_step_seconds"] = measurement.Bf16Seconds,
                ["bf16_speedup"] = Math.Round(measurement.Bf16Speedup, 4),
                ["measured_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            };
            var json = new JsonObject { ["version"] = Version, ["entries"] = entries };
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            AtomicFile.Write(Path, s =>
            {
                using var w = new StreamWriter(s, leaveOpen: true);
                w.Write(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    JsonObject? ReadEntries()
    {
        try
        {
            if (!File.Exists(Path)) return null;
            var root = JsonNode.Parse(File.ReadAllText(Path)) as JsonObject;
            if (root?["version"] is not JsonValue v || !v.TryGetValue(out int version) || version != Version) return null;
            return root["entries"] is JsonObject entries ? entries.DeepClone().AsObject() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

// StateDicts: weights in and out by the official state_dict names: the entry points, and loading a state_dict into a module.
using MaeDsl.IO;
using MaeDsl.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Checkpoints;

/// <summary>
/// A state_dict that does not fit a module. The message counts the mis-shaped, missing and unexpected keys (mis-shaped
/// first: the one that tells a wrong model from a partial file), groups each kind by prefix and names the first few.
/// </summary>
public sealed class StateDictMismatchException : Exception
{
    public StateDictMismatchException(string message) : base(message) { }

    /// <param name="source">The file (or other source) of the state_dict.</param>
    /// <param name="target">The module it was loaded into.</param>
    /// <param name="misShaped">Keys of another shape, each with its shapes ("key (file [..], model [..])").</param>
    /// <param name="hint">A last clause (e.g. "is --model right?"), or null.</param>
    public StateDictMismatchException(string source, string target, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> misShaped, string? hint = null)
        : base(Describe(source, target, missing, unexpected, misShaped, hint)) { }

    const int Few = 3;

    static string Describe(string source, string target, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
        IReadOnlyList<string> misShaped, string? hint)
    {
        var parts = new List<string>();
        if (misShaped.Count > 0)
            parts.Add($"{Keys(misShaped.Count, "mis-shaped")}: {Grouped(misShaped)}");
        if (missing.Count > 0) parts.Add($"{Keys(missing.Count, "missing")}: {Grouped(missing)}");
        if (unexpected.Count > 0) parts.Add($"{Keys(unexpected.Count, "unexpected")}: {Grouped(unexpected)}");
        return $"{source} does not fit {target}: {string.Join("; ", parts)}" + (hint is null ? "" : $"; {hint}");
    }

    static string Keys(int count, string kind) => $"{count} {kind} key{(count == 1 ? "" : "s")}";

    // "blocks.* 72, norm.* 2, cls_token (first: blocks.0.norm1.weight, blocks.0.norm1.bias, …)"; a mis-shaped key carries its shapes
    // ("norm.weight (file [65], model [64])"), which the prefix leaves out
    static string Grouped(IReadOnlyList<string> keys)
    {
        static string Key(string k) => k.IndexOf(' ') is int space and > 0 ? k[..space] : k;
        var groups = keys.GroupBy(k => Key(k).Contains('.') ? Key(k)[..Key(k).IndexOf('.')]
            + ".*" : Key(k)).Select(g => g.Count() == 1 ? g.First() : $"{g.Key} {g.Count()}").ToList();
        string listed = string.Join(", ", groups.Take(8)) + (groups.Count > 8 ? $", … {groups.Count - 8} more group(s)" : "");
        return keys.Count <= Few ? string.Join(", ", keys)
            : $"{listed} (first: {string.Join(", ", keys.Take(Few))}, …)";
    }
}

/// <summary>What a load found: keys the module has but the file lacks, keys the file has but the module lacks, and loaded keys.</summary>
public sealed record LoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> Loaded);


/// <summary>
/// Weights in and out, by the official state_dict names: <c>.safetensors</c> (<see cref="SafetensorsFile"/>, checksummed) and
/// PyTorch's <c>.pth</c> zip format (<see cref="PthFile"/>, through TorchSharp.PyBridge; a file may hold a flat state_dict or
/// an official checkpoint dict with a 'model' entry). Loading copies into the module's own tensors, so a parameter keeps its
/// requires_grad; writes are atomic.
/// </summary>
public static class StateDicts
{
    // ---- reading ----

    /// <summary>The tensors of a .safetensors or .pth file (for an official checkpoint, its 'model' entry).</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        RequireFile(path);
        return WithoutDdpPrefix(IsSafetensors(path) ? SafetensorsFile.Read(path).Tensors : PthFile.Read(path).Model);
    }

    /// <summary>A state_dict saved from a DistributedDataParallel wrapper has every key under "module.": drop it.</summary>
    public static Dictionary<string, Tensor> WithoutDdpPrefix(Dictionary<string, Tensor> tensors) =>
        tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith("module."))
            ? tensors.ToDictionary(kv => kv.Key["module.".Length..], kv => kv.Value)
            : tensors;

    /// <summary>A .safetensors file: the tensors and the "__metadata__" strings (validated whole, checksums checked: see <see
    /// cref="SafetensorsFile.Read"/>).</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) ReadSafetensors(string path) => SafetensorsFile.Read(path);

    /// <summary>One tensor of a validated safetensors header: offsets are relative to the data section.</summary>
    public sealed record SafetensorsEntry(string Name, ScalarType Dtype, long[] Shape, long Begin, long End);

    /// <summary>A validated safetensors header: where the data starts, the tensors in file order and the metadata.</summary>
    public sealed record SafetensorsLayout(long DataStart, IReadOnlyList<SafetensorsEntry> Entries, Dictionary<string, string> Metadata);

    /// <summary>
    /// Checks a safetensors file without allocating any tensor: the header length fits the file, the header is well-formed
    /// JSON, every dtype is known, every shape is non-negative with a product within <c>long</c>, every byte length is
    /// numel × dtype size, and the offsets are ascending, contiguous, non-overlapping and cover exactly the data section.
    /// </summary>
    /// <exception cref="InvalidDataException">The file breaks one of these rules; the message names the file and the tensor.</exception>
    public static SafetensorsLayout ValidateSafetensors(Stream stream, string path) => SafetensorsFile.ReadHeader(stream, path);

    /// <summary>A PyTorch zip-format file: a flat state_dict, or a checkpoint dict whose 'model' entry is one (see <see cref="PthFile.Read"/>).</summary>
    public static PthCheckpoint ReadPth(string path) => PthFile.Read(path);

    // ---- loading into a module ----

    /// <summary>
    /// Loads a file into <paramref name="module"/> by name. Strict: any missing, unexpected or mis-shaped
    /// key throws, naming all of them. Not strict: mis-shaped keys still throw; the report lists the rest.
    /// </summary>
    public static LoadReport Load(nn.Module module, string path, bool strict = true) => NoGcDuringTorch.Run(() =>
    {
        var tensors = Read(path);
        try { return Load(module, tensors, strict, path); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    });

    /// <summary>Copies <paramref name="source"/> into the module's parameters and buffers by name.</summary>
    public static LoadReport Load(nn.Module module, IReadOnlyDictionary<string, Tensor> source, bool strict, string sourceName) =>
        NoGcDuringTorch.Run(() => LoadCore(module, source, strict, sourceName));

    static LoadReport LoadCore(nn.Module module, IReadOnlyDictionary<string, Tensor> source, bool strict, string sourceName)
    {
        var target = module.state_dict();
        var missing = target.Keys.Where(k => !source.ContainsKey(k)).ToList();
        var unexpected = source.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var misShaped = source.Where(kv => target.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key} (file [{string.Join(", ", kv.Value.shape)}], model [{string.Join(", ", target[kv.Key].shape)}])").ToList();
        if (misShaped.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictMismatchException(sourceName, module.GetName(), missing, unexpected, misShaped);
        CheckDtypesAndValues(module, target, source, sourceName);
        var loaded = new List<string>();
        using (no_grad())
            foreach (var (name, t) in target)
                if (source.TryGetValue(name, out var s)) { t.copy_(s); loaded.Add(name); }
        return new LoadReport(missing, unexpected, loaded);
    }

    /// <summary>
    /// Before anything is copied: a file tensor whose dtype is of another kind than the module's (an integer or bool tensor for a
    /// floating-point parameter, or the reverse: e.g. F32 bytes relabelled I32) is refused rather than converted, and so is
    /// a floating-point tensor holding NaN or Inf, by key, so that a run never starts from (and blames its lr for) broken weights.
    /// Floating-point tensors of another width (F16, BF16, F64) are converted to the parameter's dtype.
    /// </summary>
    static void CheckDtypesAndValues(nn.Module module, IReadOnlyDictionary<string, Tensor> target, IReadOnlyDictionary<string, Tensor> source,
        string sourceName)
    {
        var wrongKind = new List<string>();
        var nonFinite = new List<string>();
        foreach (var (name, t) in target)
        {
            if (!source.TryGetValue(name, out var s)) continue;
            if (IsFloat(s.dtype) != IsFloat(t.dtype))
            {
                wrongKind.Add($"{name} (file {s.dtype}, model {t.dtype})");
                continue;
            }
            if (IsFloat(s.dtype) && s.NumberOfElements > 0)
            {
                using var bad = isfinite(s).logical_not_().sum();
                long count = bad.ToInt64();
                if (count > 0) nonFinite.Add($"{name} ({count} of {s.NumberOfElements} values)");
            }
        }
        if (wrongKind.Count > 0)
            throw new InvalidDataException(
                $"{sourceName}: tensors whose dtype does not match {module.GetName()}'s ({wrongKind.Count}): {string.Join(", ", wrongKind)}; expected the " +
                $"model's dtype kind (a mislabelled or foreign file is not converted)");
        if (nonFinite.Count > 0)
            throw new InvalidDataException(
                $"{sourceName}: tensors holding NaN or Inf ({nonFinite.Count}): {string.Join(", ", nonFinite)}; expected finite weights (the file is damaged " +
                $"or was saved from a diverged run)");
    }

    /// <summary>Refuses a module whose floating-point parameters or buffers hold NaN or Inf after a load from <paramref name="sourceName"/>, by key.</summary>
    /// <exception cref="InvalidDataException">Some weights are not finite; the message names the file and the keys.</exception>
    public static void RequireFinite(nn.Module module, string sourceName) => NoGcDuringTorch.Run(() =>
    {
        var nonFinite = new List<string>();
        foreach (var (name, t) in module.state_dict())
        {
            if (!IsFloat(t.dtype) || t.NumberOfElements == 0) continue;
            using var bad = isfinite(t).logical_not_().sum();
            long count = bad.ToInt64();
            if (count > 0) nonFinite.Add($"{name} ({count} of {t.NumberOfElements} values)");
        }
        if (nonFinite.Count > 0)
            throw new InvalidDataException(
                $"{sourceName}: tensors holding NaN or Inf ({nonFinite.Count}): {string.Join(", ", nonFinite)}; expected finite weights (the file is damaged " +
                $"or was saved from a diverged run)");
    });

    // ---- writing ----

    /// <summary>Writes the module's state_dict as .safetensors or .pth (by extension), atomically.</summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) => NoGcDuringTorch.Run(() =>
    {
        var tensors = module.state_dict();
        if (IsSafetensors(path)) SafetensorsFile.Write(path, tensors, metadata);
        else PthFile.Write(path, tensors);
    });

    /// <summary>Writes tensors in the safetensors format, in the given order, atomically, with their checksums in the metadata.</summary>
    public static void WriteSafetensors(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsFile.Write(path, tensors, metadata);

    /// <summary>Writes a flat state_dict that PyTorch's torch.load reads, atomically.</summary>
    public static void WritePth(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors) => PthFile.Write(path, tensors);

    static bool IsFloat(ScalarType type) => type is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    static bool IsSafetensors(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    /// <summary>A weights file must be a regular file (a FIFO would block the read): one exception naming it otherwise.</summary>
    internal static void RequireFile(string path) => FileKinds.RequireRegular(path, "weights (.safetensors or .pth)");

    internal static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}

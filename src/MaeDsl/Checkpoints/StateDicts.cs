// StateDicts: weights in and out by the official state_dict names (.safetensors, PyTorch .pth).
using MaeDsl.IO;
using MaeDsl.Native;
using System.Collections;
using System.Text;
using System.Text.Json;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MaeDsl.Checkpoints;

/// <summary>A state_dict that does not fit a module: every missing, unexpected and mis-shaped key is named.</summary>
public sealed class StateDictMismatchException(string message) : Exception(message);

/// <summary>What a load found: keys the module has but the file lacks, keys the file has but the module lacks, and loaded keys.</summary>
public sealed record LoadReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> Loaded);

/// <summary>An official-style training checkpoint: {'model': state_dict, 'optimizer': ..., 'epoch': ..., ...}.</summary>
public sealed record PthCheckpoint(Dictionary<string, Tensor> Model, Hashtable Entries)
{
    /// <summary>The 'epoch' entry, or null.</summary>
    public int? Epoch => Entries["epoch"] is { } e ? Convert.ToInt32(e) : null;
    /// <summary>The 'optimizer' entry (state + param_groups), or null.</summary>
    public Hashtable? Optimizer => Entries["optimizer"] as Hashtable;
}

/// <summary>
/// Weights in and out, by the official state_dict names: <c>.safetensors</c> (little-endian, the
/// safetensors header format) and PyTorch's <c>.pth</c> zip format (through TorchSharp.PyBridge; a
/// file may hold a flat state_dict or an official checkpoint dict with a 'model' entry). Loading copies
/// into the module's own tensors, so a parameter keeps its requires_grad; writes are atomic.
/// </summary>
public static class StateDicts
{
    // ---- reading ----

    /// <summary>The tensors of a .safetensors or .pth file (for an official checkpoint, its 'model' entry).</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        RequireFile(path);
        return WithoutDdpPrefix(IsSafetensors(path) ? ReadSafetensors(path).Tensors : ReadPth(path).Model);
    }

    /// <summary>A state_dict saved from a DistributedDataParallel wrapper has every key under "module.": drop it.</summary>
    public static Dictionary<string, Tensor> WithoutDdpPrefix(Dictionary<string, Tensor> tensors) =>
        tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith("module."))
            ? tensors.ToDictionary(kv => kv.Key["module.".Length..], kv => kv.Value)
            : tensors;

    /// <summary>A .safetensors file: the tensors and the "__metadata__" strings.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) ReadSafetensors(string path)
    {
        RequireFile(path);
        using var stream = File.OpenRead(path);
        var lengthBytes = new byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength == 0 || headerLength > (ulong)Math.Min(stream.Length - 8, 100_000_000))
            throw new InvalidDataException($"{path}: not a safetensors file (header length {headerLength} does not fit a file of {stream.Length} bytes)");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        using var json = JsonDocument.Parse(header);
        foreach (var entry in json.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var m in entry.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            var dtype = FromSafetensorsType(entry.Value.GetProperty("dtype").GetString(), path, entry.Name);
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var t = empty(shape, dtype: dtype);
            long bytes = offsets[1] - offsets[0];
            if (bytes != t.NumberOfElements * t.ElementSize || dataStart + offsets[1] > stream.Length)
                throw new InvalidDataException($"{path}: tensor '{entry.Name}' of shape [{string.Join(", ", shape)}] has {bytes} bytes at offsets [{offsets[0]}, {offsets[1]}], which does not fit");
            var buffer = new byte[bytes];
            stream.Position = dataStart + offsets[0];
            stream.ReadExactly(buffer);
            t.bytes = buffer;
            tensors[entry.Name] = t;
        }
        return (tensors, metadata);
    }

    /// <summary>A PyTorch zip-format file: a flat state_dict, or a checkpoint dict whose 'model' entry is one.</summary>
    public static PthCheckpoint ReadPth(string path)
    {
        RequireFile(path);
        Hashtable root;
        try
        {
            using var stream = File.OpenRead(path);
            root = PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (Exception e) when (e is not IOException)
        {
            throw new InvalidDataException($"{path}: not a PyTorch state_dict or checkpoint written by torch.save (zip format): {e.Message}", e);
        }
        var model = root["model"] is Hashtable m ? m : root;
        var tensors = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry kv in model)
            if (kv.Value is Tensor t) tensors[(string)kv.Key] = t;
        if (tensors.Count == 0)
            throw new InvalidDataException($"{path}: holds no tensors at the top level nor under 'model' (keys: {string.Join(", ", root.Keys.Cast<object>())})");
        return new PthCheckpoint(tensors, root);
    }

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
        {
            var message = new StringBuilder($"{sourceName} does not fit {module.GetName()}:");
            if (missing.Count > 0) message.Append($" missing keys ({missing.Count}): {string.Join(", ", missing)};");
            if (unexpected.Count > 0) message.Append($" unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected)};");
            if (misShaped.Count > 0) message.Append($" mis-shaped keys ({misShaped.Count}): {string.Join(", ", misShaped)};");
            throw new StateDictMismatchException(message.ToString().TrimEnd(';'));
        }
        var loaded = new List<string>();
        using (no_grad())
            foreach (var (name, t) in target)
                if (source.TryGetValue(name, out var s)) { t.copy_(s); loaded.Add(name); }
        return new LoadReport(missing, unexpected, loaded);
    }

    // ---- writing ----

    /// <summary>Writes the module's state_dict as .safetensors or .pth (by extension), atomically.</summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) => NoGcDuringTorch.Run(() =>
    {
        var tensors = module.state_dict();
        if (IsSafetensors(path)) WriteSafetensors(path, tensors, metadata);
        else WritePth(path, tensors);
    });

    /// <summary>Writes tensors in the safetensors format, in the given order, atomically.</summary>
    public static void WriteSafetensors(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var contiguous = tensors.Select(kv => (kv.Key, Tensor: kv.Value.detach().cpu().contiguous())).ToList();
        try
        {
            using var header = new MemoryStream();
            using (var json = new Utf8JsonWriter(header))
            {
                json.WriteStartObject();
                if (metadata is { Count: > 0 })
                {
                    json.WriteStartObject("__metadata__");
                    foreach (var (k, v) in metadata) json.WriteString(k, v);
                    json.WriteEndObject();
                }
                long offset = 0;
                foreach (var (name, t) in contiguous)
                {
                    long bytes = t.NumberOfElements * t.ElementSize;
                    json.WriteStartObject(name);
                    json.WriteString("dtype", ToSafetensorsType(t.dtype, name));
                    json.WriteStartArray("shape");
                    foreach (var d in t.shape) json.WriteNumberValue(d);
                    json.WriteEndArray();
                    json.WriteStartArray("data_offsets");
                    json.WriteNumberValue(offset);
                    json.WriteNumberValue(offset + bytes);
                    json.WriteEndArray();
                    json.WriteEndObject();
                    offset += bytes;
                }
                json.WriteEndObject();
            }
            while (header.Length % 8 != 0) header.WriteByte((byte)' ');   // the format pads the header to 8 bytes
            AtomicFile.Write(path, stream =>
            {
                stream.Write(BitConverter.GetBytes((ulong)header.Length));
                header.Position = 0;
                header.CopyTo(stream);
                foreach (var (_, t) in contiguous) stream.Write(t.bytes);
            });
        }
        finally { foreach (var (_, t) in contiguous) t.Dispose(); }
    }

    /// <summary>Writes a flat state_dict that PyTorch's torch.load reads, atomically.</summary>
    public static void WritePth(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var table = new Hashtable();
        var contiguous = tensors.Select(kv => (kv.Key, Tensor: kv.Value.detach().cpu().contiguous())).ToList();
        try
        {
            foreach (var (name, t) in contiguous) table[name] = t;
            AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, table, leaveOpen: true));
        }
        finally { foreach (var (_, t) in contiguous) t.Dispose(); }
    }

    static bool IsSafetensors(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    static void RequireFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file not found: {Path.GetFullPath(path)}", path);
    }

    static ScalarType FromSafetensorsType(string? type, string path, string name) => type switch
    {
        "F64" => ScalarType.Float64, "F32" => ScalarType.Float32, "F16" => ScalarType.Float16, "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64, "I32" => ScalarType.Int32, "I16" => ScalarType.Int16, "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte, "BOOL" => ScalarType.Bool,
        _ => throw new InvalidDataException($"{path}: tensor '{name}' has dtype '{type}', which MaeDsl does not read"),
    };

    static string ToSafetensorsType(ScalarType type, string name) => type switch
    {
        ScalarType.Float64 => "F64", ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64", ScalarType.Int32 => "I32", ScalarType.Int16 => "I16", ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8", ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"tensor '{name}' has dtype {type}, which safetensors cannot hold"),
    };
}

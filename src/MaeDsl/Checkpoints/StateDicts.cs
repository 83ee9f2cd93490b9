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
    /// <remarks>
    /// The whole file is validated before any tensor is allocated (<see cref="ValidateSafetensors"/>); every refusal is an
    /// <see cref="InvalidDataException"/> whose message names the file, the tensor and what was expected.
    /// </remarks>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) ReadSafetensors(string path)
    {
        RequireFile(path);
        using var stream = File.OpenRead(path);
        var layout = ValidateSafetensors(stream, path);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var e in layout.Entries)
            {
                var t = empty(e.Shape, dtype: e.Dtype);
                tensors[e.Name] = t;
                if (e.End == e.Begin) continue;
                var buffer = new byte[e.End - e.Begin];
                stream.Position = layout.DataStart + e.Begin;
                stream.ReadExactly(buffer);
                t.bytes = buffer;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, layout.Metadata);
    }

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
    public static SafetensorsLayout ValidateSafetensors(Stream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new InvalidDataException($"{path}: not a safetensors file (it has {fileLength} bytes; expected an 8-byte header length, a JSON header and the data)");
        stream.Position = 0;
        var lengthBytes = new byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength < 2 || headerLength > (ulong)Math.Min(fileLength - 8, 100_000_000))
            throw new InvalidDataException($"{path}: not a safetensors file (header length {headerLength} does not fit a file of {fileLength} bytes; expected 2 ≤ length ≤ {Math.Min(fileLength - 8, 100_000_000)})");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;
        var metadata = new Dictionary<string, string>();
        var entries = new List<SafetensorsEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        JsonDocument json;
        try { json = JsonDocument.Parse(header); }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the safetensors header ({headerLength} bytes) is not well-formed JSON (cut off or damaged: {e.Message}); expected one JSON object of tensors", e);
        }
        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: the safetensors header is a JSON {json.RootElement.ValueKind}, expected an object of tensors");
            foreach (var entry in json.RootElement.EnumerateObject())
            {
                string name = entry.Name;
                if (!names.Add(name))
                    throw new InvalidDataException($"{path}: tensor '{name}' appears twice in the safetensors header; expected unique names");
                if (name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object)
                        throw new InvalidDataException($"{path}: '__metadata__' is a JSON {entry.Value.ValueKind}, expected an object of strings");
                    foreach (var m in entry.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString() ?? ""
                            : throw new InvalidDataException($"{path}: metadata '{m.Name}' is a JSON {m.Value.ValueKind}, expected a string");
                    continue;
                }
                entries.Add(ValidateEntry(entry, path, dataLength));
            }
        }
        // ascending, contiguous, non-overlapping, covering the data section exactly (as the safetensors library requires)
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expected = 0;
        foreach (var e in ordered)
        {
            if (e.Begin != expected)
                throw new InvalidDataException(e.Begin < expected
                    ? $"{path}: tensor '{e.Name}' at data offsets [{e.Begin}, {e.End}] overlaps the tensor before it (which ends at {expected}); expected contiguous, non-overlapping offsets"
                    : $"{path}: tensor '{e.Name}' starts at data offset {e.Begin}, leaving a gap after offset {expected}; expected contiguous offsets");
            expected = e.End;
        }
        if (expected != dataLength)
            throw new InvalidDataException($"{path}: the tensors cover {expected} bytes of a data section of {dataLength} bytes; expected them to cover it exactly (truncated or padded file)");
        return new SafetensorsLayout(dataStart, ordered, metadata);
    }

    static SafetensorsEntry ValidateEntry(JsonProperty entry, string path, long dataLength)
    {
        string name = entry.Name;
        string Where() => $"{path}: tensor '{name}'";
        var v = entry.Value;
        if (v.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{Where()} is a JSON {v.ValueKind}, expected an object with dtype, shape and data_offsets");
        if (!v.TryGetProperty("dtype", out var dtypeNode) || dtypeNode.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{Where()} has no dtype string; expected one of {string.Join(", ", SafetensorsTypes.Keys)}");
        string dtypeName = dtypeNode.GetString()!;
        if (!SafetensorsTypes.TryGetValue(dtypeName, out var dtype))
            throw new InvalidDataException($"{Where()} has dtype '{dtypeName}', which MaeDsl does not read; expected one of {string.Join(", ", SafetensorsTypes.Keys)}");
        long[] shape = Integers(v, "shape", Where(), -1);
        long[] offsets = Integers(v, "data_offsets", Where(), 2);
        foreach (var d in shape)
            if (d < 0) throw new InvalidDataException($"{Where()} has shape [{string.Join(", ", shape)}]; expected non-negative sizes");
        long bytes;
        try
        {
            long numel = 1;
            foreach (var d in shape) numel = checked(numel * d);
            bytes = checked(numel * ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{Where()} has shape [{string.Join(", ", shape)}] of {dtypeName}, whose size overflows a 64-bit integer; expected a shape that fits the file");
        }
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin || end > dataLength)
            throw new InvalidDataException($"{Where()} has data offsets [{begin}, {end}]; expected 0 ≤ begin ≤ end ≤ {dataLength} (the data section, after the header)");
        if (end - begin != bytes)
            throw new InvalidDataException($"{Where()} of dtype {dtypeName} and shape [{string.Join(", ", shape)}] needs {bytes} bytes, but its data offsets [{begin}, {end}] hold {end - begin}");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    static long[] Integers(JsonElement v, string property, string where, int count)
    {
        if (!v.TryGetProperty(property, out var node) || node.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where} has no '{property}' array; expected {(count < 0 ? "a list of sizes" : $"{count} integers")}");
        var values = new List<long>();
        foreach (var x in node.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out long n))
                throw new InvalidDataException($"{where} has '{property}' [{node.GetRawText()}]; expected 64-bit integers");
            values.Add(n);
        }
        if (count >= 0 && values.Count != count)
            throw new InvalidDataException($"{where} has {values.Count} values in '{property}'; expected {count}");
        return values.ToArray();
    }

    static readonly Dictionary<string, ScalarType> SafetensorsTypes = new()
    {
        ["F64"] = ScalarType.Float64, ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16, ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32, ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>A PyTorch zip-format file: a flat state_dict, or a checkpoint dict whose 'model' entry is one.</summary>
    /// <remarks>
    /// The pickle is read first without any tensor data; every tensor's dtype, shape, stride and storage offset are checked
    /// against its storage in the archive (non-negative sizes, a product within <c>long</c>, the elements within the storage)
    /// before any tensor is allocated. A refusal is an <see cref="InvalidDataException"/> naming the file and the key.
    /// </remarks>
    public static PthCheckpoint ReadPth(string path)
    {
        RequireFile(path);
        Hashtable root;
        try
        {
            using var stream = File.OpenRead(path);
            root = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true, skipTensorRead: true);
            CheckPthTensors(root, path, "", StorageSizes(path));
            root = (Hashtable)Materialize(root)!;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: a tensor's storage ends early (truncated or damaged file); expected the bytes its shape needs", e);
        }
        catch (Exception e) when (e is not IOException and not InvalidDataException)
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

    // Every tensor of the pickle (at any depth: the model, the optimizer's moments) is checked before any is read.
    static void CheckPthTensors(object? node, string path, string key, IReadOnlyDictionary<int, long> storageSizes)
    {
        switch (node)
        {
            case { } t when PthTensor.Is(t):
                CheckPthTensor(new PthTensor(t), path, key, storageSizes);
                break;
            case Hashtable table:
                foreach (DictionaryEntry kv in table) CheckPthTensors(kv.Value, path, key.Length == 0 ? $"{kv.Key}" : $"{key}.{kv.Key}", storageSizes);
                break;
            case IList list:
                for (int i = 0; i < list.Count; i++) CheckPthTensors(list[i], path, $"{key}[{i}]", storageSizes);
                break;
        }
    }

    /// <summary>PyBridge's internal TensorConstructorArgs (what skipTensorRead returns): read by reflection.</summary>
    readonly struct PthTensor(object args)
    {
        static readonly Type? ArgsType = typeof(PyTorchUnpickler).GetNestedType("TensorConstructorArgs", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public);
        static T Get<T>(object o, string name) => (T)ArgsType!.GetProperty(name)!.GetValue(o)!;
        public static bool Is(object o) => ArgsType is not null && ArgsType.IsInstanceOfType(o);
        public long[]? Shape => Get<long[]?>(args, nameof(Shape));
        public long[]? Stride => Get<long[]?>(args, nameof(Stride));
        public long StorageOffset => Get<int>(args, nameof(StorageOffset));
        public int ArchiveIndex => Get<int>(args, nameof(ArchiveIndex));
        public ScalarType DType => Get<ScalarType>(args, nameof(DType));
        public Stream Data => Get<Stream>(args, nameof(Data));
        public Tensor Read()
        {
            try { return (Tensor)ArgsType!.GetMethod("ReadTensorFromStream")!.Invoke(args, null)!; }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }
    }

    // The uncompressed size of each entry of the archive, by its index (PyBridge's ArchiveIndex), from the central directory.
    static Dictionary<int, long> StorageSizes(string path)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        var sizes = new Dictionary<int, long>();
        for (int i = 0; i < zip.Entries.Count; i++) sizes[i] = zip.Entries[i].Length;
        return sizes;
    }

    static void CheckPthTensor(PthTensor t, string path, string key, IReadOnlyDictionary<int, long> storageSizes)
    {
        string Where() => $"{path}: tensor '{key}'";
        var shape = t.Shape ?? [];
        var stride = t.Stride ?? [];
        if (shape.Any(d => d < 0) || stride.Any(d => d < 0) || t.StorageOffset < 0 || stride.Length != shape.Length)
            throw new InvalidDataException($"{Where()} has shape [{string.Join(", ", shape)}], stride [{string.Join(", ", stride)}] and storage offset {t.StorageOffset}; expected non-negative values and one stride per dimension");
        long needed;
        try
        {
            long numel = 1, reach = 0;
            for (int i = 0; i < shape.Length; i++)
            {
                numel = checked(numel * shape[i]);
                if (shape[i] > 0) reach = checked(reach + (shape[i] - 1) * stride[i]);
            }
            needed = numel == 0 ? 0 : checked((t.StorageOffset + reach + 1) * PthElementSize(t.DType));
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{Where()} has shape [{string.Join(", ", shape)}] of {t.DType}, whose size overflows a 64-bit integer; expected a shape that fits the file");
        }
        if (!storageSizes.TryGetValue(t.ArchiveIndex, out long available))
            throw new InvalidDataException($"{Where()} refers to storage {t.ArchiveIndex}, which the archive does not hold; expected an entry of the archive");
        if (needed > available)
            throw new InvalidDataException($"{Where()} of {t.DType} and shape [{string.Join(", ", shape)}] needs {needed} bytes of storage, but its storage in the archive holds {available}");
    }

    static long PthElementSize(ScalarType type) => type switch
    {
        ScalarType.ComplexFloat64 => 16,
        ScalarType.ComplexFloat32 => 8,
        _ => ElementSize(type),
    };

    static object? Materialize(object? node)
    {
        switch (node)
        {
            case { } t when PthTensor.Is(t):
                return new PthTensor(t).Read();
            case Hashtable table:
                foreach (var k in table.Keys.Cast<object>().ToList()) table[k] = Materialize(table[k]);
                return table;
            case IList list when !list.IsReadOnly && !list.IsFixedSize || list is Array:
                for (int i = 0; i < list.Count; i++) list[i] = Materialize(list[i]);
                return list;
            default:
                return node;
        }
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
    static void CheckDtypesAndValues(nn.Module module, IReadOnlyDictionary<string, Tensor> target, IReadOnlyDictionary<string, Tensor> source, string sourceName)
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
            throw new InvalidDataException($"{sourceName}: tensors whose dtype does not match {module.GetName()}'s ({wrongKind.Count}): {string.Join(", ", wrongKind)}; expected the model's dtype kind (a mislabelled or foreign file is not converted)");
        if (nonFinite.Count > 0)
            throw new InvalidDataException($"{sourceName}: tensors holding NaN or Inf ({nonFinite.Count}): {string.Join(", ", nonFinite)}; expected finite weights (the file is damaged or was saved from a diverged run)");
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
            throw new InvalidDataException($"{sourceName}: tensors holding NaN or Inf ({nonFinite.Count}): {string.Join(", ", nonFinite)}; expected finite weights (the file is damaged or was saved from a diverged run)");
    });

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

    static bool IsFloat(ScalarType type) => type is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;

    static bool IsSafetensors(string path) => path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    static void RequireFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file not found: {Path.GetFullPath(path)}", path);
    }

    static string ToSafetensorsType(ScalarType type, string name) => type switch
    {
        ScalarType.Float64 => "F64", ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64", ScalarType.Int32 => "I32", ScalarType.Int16 => "I16", ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8", ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"tensor '{name}' has dtype {type}, which safetensors cannot hold"),
    };
}

// SafetensorsFile: the .safetensors format: its one validated header reader, the reader and the writer, and the per-tensor
// checksums MaeDsl keeps in its metadata.
using System.Text.Json;
using System.Text.Json.Nodes;
using MaeDsl.IO;
using static TorchSharp.torch;

namespace MaeDsl.Checkpoints;

/// <summary>
/// The safetensors format (little-endian: an 8-byte header length, a JSON header of dtype, shape and data offsets per tensor,
/// the data). <see cref="ReadHeader"/> is the one reader of the header: the tensor reader and the CLI's look at a file's
/// metadata both go through it. MaeDsl writes each tensor's XXH3-64 digest into the metadata (<see cref="ChecksumsKey"/>)
/// and checks it on every read; a file of ours written before checksums loads with one line saying so.
/// </summary>
internal static class SafetensorsFile
{
    /// <summary>The metadata entry of the per-tensor checksums: a JSON object {"algorithm": "xxh3-64", "tensors": {name: digest}}.</summary>
    public const string ChecksumsKey = "maedsl_checksums";

    /// <summary>A .safetensors file: the tensors and the "__metadata__" strings.</summary>
    /// <remarks>
    /// The whole file is validated before any tensor is allocated (<see cref="ReadHeader"/>); every refusal is an
    /// <see cref="InvalidDataException"/> whose message names the file, the tensor and what was expected. When the metadata
    /// holds MaeDsl's checksums, every tensor's bytes are checked against them and a damaged tensor is named.
    /// </remarks>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        StateDicts.RequireFile(path);
        using var stream = File.OpenRead(path);
        var layout = ReadHeader(stream, path);
        var recorded = RecordedChecksums(layout.Metadata, path);
        var damaged = new List<string>();
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
                if (recorded is not null && (!recorded.TryGetValue(e.Name, out var digest) || digest != Checksums.Of(buffer))) damaged.Add(e.Name);
                t.bytes = buffer;
            }
            if (recorded is not null)
                foreach (var e in layout.Entries)
                    if (e.End == e.Begin && (!recorded.TryGetValue(e.Name, out var digest) || digest != Checksums.Of(ReadOnlySpan<byte>.Empty))) damaged.Add(
                        e.Name);
            if (damaged.Count > 0)
                throw new InvalidDataException($"{path}: the weights are damaged: {(damaged.Count > 1 ? "tensors" : "tensor")} {Checksums.Few(damaged)} " +
                                               $"{(damaged.Count > 1 ? "do" : "does")} not match the checksum written with " +
                                                   $"{(damaged.Count > 1 ? "them" : "it")} " +
                                               "(the file changed after it was written); use another copy or an earlier checkpoint");
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, layout.Metadata);
    }

    /// <summary>
    /// Checks a safetensors file without allocating any tensor: the header length fits the file, the header is well-formed
    /// JSON, every dtype is known, every shape is non-negative with a product within <c>long</c>, every byte length is
    /// numel × dtype size, and the offsets are ascending, contiguous, non-overlapping and cover exactly the data section.
    /// </summary>
    /// <exception cref="InvalidDataException">The file breaks one of these rules; the message names the file and the tensor.</exception>
    public static StateDicts.SafetensorsLayout ReadHeader(Stream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw new InvalidDataException(
                $"{path}: not a safetensors file (it has {fileLength} bytes; expected an 8-byte header length, a JSON header and the data)");
        stream.Position = 0;
        var lengthBytes = new byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength < 2 || headerLength > (ulong)Math.Min(fileLength - 8, 100_000_000))
            throw new InvalidDataException(
                $"{path}: not a safetensors file (header length {headerLength} does not fit a file of {fileLength} bytes; expected 2 ≤ length ≤ " +
                $"{Math.Min(fileLength - 8, 100_000_000)})");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;
        var metadata = new Dictionary<string, string>();
        var entries = new List<StateDicts.SafetensorsEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        JsonDocument json;
        try { json = JsonDocument.Parse(header); }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{path}: the safetensors header ({headerLength} bytes) is not well-formed JSON (cut off or damaged: {e.Message}); expected one JSON object " +
                $"of tensors", e);
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
                    ? $"{path}: tensor '{e.Name}' at data offsets [{e.Begin}, {e.End}] overlaps the tensor before it (which ends at {expected}); expected " +
                        $"contiguous, non-overlapping offsets"
                    : $"{path}: tensor '{e.Name}' starts at data offset {e.Begin}, leaving a gap after offset {expected}; expected contiguous offsets");
            expected = e.End;
        }
        if (expected != dataLength)
            throw new InvalidDataException(
                $"{path}: the tensors cover {expected} bytes of a data section of {dataLength} bytes; expected them to cover it exactly (truncated or padded " +
                $"file)");
        return new StateDicts.SafetensorsLayout(dataStart, ordered, metadata);
    }

    static StateDicts.SafetensorsEntry ValidateEntry(JsonProperty entry, string path, long dataLength)
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
            throw new InvalidDataException(
                $"{Where()} has dtype '{dtypeName}', which MaeDsl does not read; expected one of {string.Join(", ", SafetensorsTypes.Keys)}");
        long[] shape = Integers(v, "shape", Where(), -1);
        long[] offsets = Integers(v, "data_offsets", Where(), 2);
        foreach (var d in shape)
            if (d < 0) throw new InvalidDataException($"{Where()} has shape [{string.Join(", ", shape)}]; expected non-negative sizes");
        long bytes;
        try
        {
            long numel = 1;
            foreach (var d in shape) numel = checked(numel * d);
            bytes = checked(numel * StateDicts.ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw new InvalidDataException(
                $"{Where()} has shape [{string.Join(", ", shape)}] of {dtypeName}, whose size overflows a 64-bit integer; expected a shape that fits the file");
        }
        long begin = offsets[0], end = offsets[1];
        if (begin < 0 || end < begin || end > dataLength)
            throw new InvalidDataException(
                $"{Where()} has data offsets [{begin}, {end}]; expected 0 ≤ begin ≤ end ≤ {dataLength} (the data section, after the header)");
        if (end - begin != bytes)
            throw new InvalidDataException(
                $"{Where()} of dtype {dtypeName} and shape [{string.Join(", ", shape)}] needs {bytes} bytes, but its data offsets [{begin}, {end}] hold " +
                $"{end - begin}");
        return new StateDicts.SafetensorsEntry(name, dtype, shape, begin, end);
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

    /// <summary>Writes tensors in the safetensors format, in the given order, atomically, with each tensor's checksum in the metadata
    /// (<see cref="ChecksumsKey"/>; other readers ignore it).</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var contiguous = tensors.Select(kv => (kv.Key, Tensor: kv.Value.detach().cpu().contiguous())).ToList();
        try
        {
            using var header = new MemoryStream();
            using (var json = new Utf8JsonWriter(header))
            {
                json.WriteStartObject();
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
                    if (k != ChecksumsKey) json.WriteString(k, v);
                json.WriteString(ChecksumsKey, ChecksumsJson(contiguous));
                json.WriteEndObject();
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

    static string ChecksumsJson(IEnumerable<(string Key, Tensor Tensor)> tensors) => new JsonObject
    {
        ["algorithm"] = Checksums.Algorithm,
        ["tensors"] = new JsonObject(tensors.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Checksums.Of(kv.Tensor)))),
    }.ToJsonString();

    // The checksums of a file's metadata; null when it has none (a foreign file, or one of ours written before checksums: noted).
    static Dictionary<string, string>? RecordedChecksums(Dictionary<string, string> metadata, string path)
    {
        if (!metadata.TryGetValue(ChecksumsKey, out var json))
        {
            if (metadata.ContainsKey("config")) CheckpointStore.NoteUnverified(path, "weights");
            return null;
        }
        try
        {
            var o = JsonNode.Parse(json)!.AsObject();
            string algorithm = o["algorithm"]!.GetValue<string>();
            if (algorithm != Checksums.Algorithm)
                throw new InvalidDataException($"{path}: checksums of algorithm '{algorithm}', this build checks {Checksums.Algorithm}");
            return o["tensors"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"{path}: the weights are damaged: the '{ChecksumsKey}' metadata is not readable ({e.Message})", e);
        }
    }

    static string ToSafetensorsType(ScalarType type, string name) => type switch
    {
        ScalarType.Float64 => "F64", ScalarType.Float32 => "F32", ScalarType.Float16 => "F16", ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64", ScalarType.Int32 => "I32", ScalarType.Int16 => "I16", ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8", ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"tensor '{name}' has dtype {type}, which safetensors cannot hold"),
    };
}

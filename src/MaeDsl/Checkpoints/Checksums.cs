// Checksums: the XXH3-64 digests written into .ckpt and .safetensors files and checked on every load.
using System.IO.Hashing;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Checkpoints;

/// <summary>
/// XXH3-64 (System.IO.Hashing) over bytes as written: cheap enough to run on every save and load (tens of GB/s), and it
/// catches any changed byte, a weight set to 1e30 as well as a NaN, which the finite check alone does not. Not a
/// cryptographic signature: it tells a damaged file from a whole one, not a forged one from a genuine one.
/// </summary>
internal static class Checksums
{
    /// <summary>The name written beside each digest, so that a later build can change the algorithm.</summary>
    public const string Algorithm = "xxh3-64";

    /// <summary>The digest of <paramref name="bytes"/> as 16 hex digits.</summary>
    public static string Of(ReadOnlySpan<byte> bytes) => Hex(XxHash3.HashToUInt64(bytes));

    /// <summary>The digest of a tensor's bytes (its contiguous CPU copy when it is not one already).</summary>
    public static string Of(Tensor tensor)
    {
        var t = tensor.detach();
        var cpu = t.device_type == DeviceType.CPU && t.is_contiguous() ? t : t.cpu().contiguous();
        try { return t.NumberOfElements == 0 ? Of(ReadOnlySpan<byte>.Empty) : Of(cpu.bytes); }
        finally
        {
            if (!ReferenceEquals(cpu, t)) cpu.Dispose();
            t.Dispose();
        }
    }

    /// <summary>The digest of every tensor, by name.</summary>
    public static Dictionary<string, string> Of(IEnumerable<KeyValuePair<string, Tensor>> tensors) =>
        tensors.ToDictionary(kv => kv.Key, kv => Of(kv.Value), StringComparer.Ordinal);

    public static string Hex(ulong digest) => digest.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The names whose digest differs from the recorded one (a name the record lacks counts as differing).</summary>
    public static List<string> Differing(IReadOnlyDictionary<string, string> recorded, IReadOnlyDictionary<string, string> actual) =>
        actual.Where(kv => !recorded.TryGetValue(kv.Key, out var r) || r != kv.Value).Select(kv => kv.Key).ToList();

    /// <summary>A few names for a message: the first <paramref name="few"/>, then how many more.</summary>
    public static string Few(IReadOnlyList<string> names, int few = 4) =>
        names.Count <= few ? string.Join(", ", names.Select(n => $"'{n}'"))
            : string.Join(", ", names.Take(few).Select(n => $"'{n}'")) + $" and {names.Count - few} more";
}

/// <summary>
/// A pass-through stream (read or write) that digests every byte going through it, section by section: <see cref="TakeDigest"/>
/// returns the digest of the bytes since the last call and starts the next section.
/// </summary>
internal sealed class DigestingStream(Stream inner, bool leaveOpen = true) : Stream
{
    readonly XxHash3 hash = new();
    long position;

    /// <summary>Bytes read or written so far.</summary>
    public override long Position { get => position; set => throw new NotSupportedException(); }

    /// <summary>The digest of the section that ends here; the next section starts empty.</summary>
    public string TakeDigest()
    {
        string digest = Checksums.Hex(hash.GetCurrentHashAsUInt64());
        hash.Reset();
        return digest;
    }

    /// <summary>Reads (and digests) on up to <paramref name="end"/>, or to the end of the stream; false when it ends first.</summary>
    public bool ReadTo(long end)
    {
        var buffer = new byte[1 << 16];
        while (position < end)
        {
            int n = Read(buffer, 0, (int)Math.Min(buffer.Length, end - position));
            if (n == 0) return false;
        }
        return true;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        hash.Append(buffer[..n]);
        position += n;
        return n;
    }
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        hash.Append(buffer);
        position += buffer.Length;
    }
    public override void Flush() => inner.Flush();
    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => false;
    public override bool CanWrite => inner.CanWrite;
    public override long Length => inner.Length;
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    protected override void Dispose(bool disposing)
    {
        if (disposing && !leaveOpen) inner.Dispose();
        base.Dispose(disposing);
    }
}

// Npy: streaming writers of an N × D float32 matrix as NumPy .npy (format 1.0) or .safetensors, rows written batch by batch.
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace MaeDsl.IO;

/// <summary>
/// Writes an N × D float32 matrix whose size is known up front, a block of rows at a time (bounded memory), as
/// NumPy's <c>.npy</c> format 1.0 (<c>numpy.load</c> reads it) or as <c>.safetensors</c> with one tensor, chosen by
/// the file's extension. The file is written to a temporary sibling and renamed on <see cref="Complete"/>; disposed
/// before that (an error, a cancel), the temporary file is deleted and the target is untouched.
/// </summary>
internal sealed class MatrixFileWriter : IDisposable
{
    /// <summary>The name of the one tensor of a .safetensors file.</summary>
    public const string SafetensorsName = "features";

    readonly string path, temp;
    readonly FileStream stream;
    long written;
    bool done;

    /// <param name="path">Target file: *.npy or *.safetensors.</param>
    /// <param name="rows">N, the number of rows that will be written.</param>
    /// <param name="columns">D.</param>
    public MatrixFileWriter(string path, long rows, long columns)
    {
        if (rows < 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"MatrixFileWriter: shape [{rows}, {columns}] is not a matrix.");
        if (!IsSupported(path)) throw new ArgumentException($"{path}: the output must end with .npy or .safetensors");
        this.path = Path.GetFullPath(path);
        Rows = rows; Columns = columns;
        Directory.CreateDirectory(Path.GetDirectoryName(this.path)!);
        temp = AtomicFile.TempName(this.path);
        stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        try
        {
            var header = IsNpy(path) ? NpyHeader(rows, columns) : SafetensorsHeader(rows, columns);
            stream.Write(header);
        }
        catch { Dispose(); throw; }
    }

    public long Rows { get; }
    public long Columns { get; }
    /// <summary>Rows written so far.</summary>
    public long Written => written;

    /// <summary>True for the extensions this writer knows (.npy, .safetensors).</summary>
    public static bool IsSupported(string path) => IsNpy(path) || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);

    static bool IsNpy(string path) => path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);

    /// <summary>Appends rows (row-major, a multiple of <see cref="Columns"/> values).</summary>
    public void Append(ReadOnlySpan<float> values)
    {
        if (values.Length % Columns != 0)
            throw new ArgumentException($"MatrixFileWriter: {values.Length} values are not whole rows of {Columns}.", nameof(values));
        long n = values.Length / Columns;
        if (written + n > Rows) throw new InvalidOperationException($"MatrixFileWriter: {written + n} rows written, the header says {Rows}.");
        if (BitConverter.IsLittleEndian) stream.Write(MemoryMarshal.AsBytes(values));
        else
        {
            var b = new byte[4];
            foreach (var v in values) { BinaryPrimitives.WriteSingleLittleEndian(b, v); stream.Write(b); }
        }
        written += n;
    }

    /// <summary>Checks that every row was written, flushes and renames the file into place.</summary>
    public void Complete()
    {
        if (written != Rows) throw new InvalidOperationException($"MatrixFileWriter: {written} rows written, the header says {Rows}.");
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        File.Move(temp, path, overwrite: true);
        done = true;
    }

    public void Dispose()
    {
        try { stream.Dispose(); }   // flushes the buffered tail: on a full disk that throws, and the temporary file must still go
        catch (Exception e) when (!done && AtomicFile.IsWriteFailure(e)) { }
        finally
        {
            if (!done) try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The .npy 1.0 header: magic, version, little-endian uint16 length, a Python dict literal padded with spaces to a multiple of 64 bytes, ending in
    /// '\n'.</summary>
    public static byte[] NpyHeader(long rows, long columns)
    {
        string dict = string.Create(CultureInfo.InvariantCulture, $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}");
        int prefix = 6 + 2 + 2;
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        if (total - prefix > ushort.MaxValue) throw new InvalidOperationException("npy header too long");
        var header = new byte[total];
        header[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY", header.AsSpan(1));
        header[6] = 1; header[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)(total - prefix));
        var text = dict.PadRight(total - prefix - 1) + "\n";
        Encoding.ASCII.GetBytes(text, header.AsSpan(prefix));
        return header;
    }

    static byte[] SafetensorsHeader(long rows, long columns)
    {
        long bytes = rows * columns * 4;
        string json = string.Create(CultureInfo.InvariantCulture,
            $"{{\"{SafetensorsName}\":{{\"dtype\":\"F32\",\"shape\":[{rows},{columns}],\"data_offsets\":[0,{bytes}]}}}}");
        while (json.Length % 8 != 0) json += " ";
        var header = new byte[8 + json.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)json.Length);
        Encoding.UTF8.GetBytes(json, header.AsSpan(8));
        return header;
    }
}

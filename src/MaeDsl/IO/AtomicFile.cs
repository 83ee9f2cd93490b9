// AtomicFile: the one writer of files through a temporary sibling and a rename (no torn file after a crash).
namespace MaeDsl.IO;

/// <summary>Writes a file through a temporary sibling and a rename, so a crash never leaves a partial file.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through a uniquely named temporary file in the same folder, flushed to disk, then renamed over it.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = $"{full}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}

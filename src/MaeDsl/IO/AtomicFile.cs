// AtomicFile: the one writer of files through a temporary sibling and a rename (no torn file after a crash).
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace MaeDsl.IO;

/// <summary>Writes a file through a temporary sibling and a rename, so a crash never leaves a partial file.</summary>
/// <remarks>
/// <para>The temporary file is <c>&lt;name&gt;.&lt;pid&gt;.&lt;16 hex digits&gt;.tmp</c> beside the target (the name part cut
/// so that it stays within 255 bytes, see <see cref="TempName"/>). A process killed
/// during a write leaves it behind; <see cref="CleanOrphans"/> deletes such files whose process no longer runs. A process's
/// first <see cref="Write"/> to a folder calls it, and so do CheckpointStore and TrainingLog when a run or resume starts,
/// so a resume cleans the run and checkpoint folders. Readers never take them for a checkpoint: they end in <c>.tmp</c>,
/// and CheckpointStore refuses a file named like one.</para>
/// <para>Durability: the temporary file is flushed to disk (fsync) before the rename; after the rename the folder is
/// fsynced too, so the new name survives a power loss. On Linux and macOS the folder is opened read-only and fsynced
/// (libc <c>open</c>/<c>fsync</c>); on Windows there is no folder handle to sync and NTFS journals the rename itself, so that
/// step is skipped.</para>
/// <para>A failure while writing (disk full, file-size limit, permissions) leaves the previous file untouched, deletes the
/// temporary file and throws one <see cref="IOException"/> that names the target and says the previous file is kept.</para>
/// </remarks>
internal static partial class AtomicFile
{
    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> cleanedFolders = new();

    static readonly PosixSignalRegistration? fileSizeSignal = IgnoreFileSizeSignal();

    /// <summary>
    /// Under a file-size limit (<c>ulimit -f</c>) the kernel sends SIGXFSZ to a process that writes past it, and its default
    /// action ends the process at once (exit 153, no message). MaeDsl handles the signal (on Linux and macOS, once per process,
    /// as soon as any file is written through this class) so that the write fails with EFBIG instead, which becomes the one
    /// <see cref="IOException"/> naming the file, with the previous file kept.
    /// </summary>
    static PosixSignalRegistration? IgnoreFileSizeSignal()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
        try { return PosixSignalRegistration.Create((PosixSignal)25 /* SIGXFSZ on Linux and macOS */, context => context.Cancel = true); }
        catch (Exception e) when (e is PlatformNotSupportedException or IOException or ArgumentException) { return null; }
    }

    /// <summary>Makes sure SIGXFSZ is handled (see <see cref="IgnoreFileSizeSignal"/>); true when it is.</summary>
    public static bool FileSizeSignalHandled => fileSizeSignal is not null;

    /// <summary>Test-only fault hook: wraps the stream a write goes to (e.g. to fail after N bytes as a full disk does).</summary>
    internal static Func<string, Stream, Stream>? WrapStreamForTests;

    /// <summary>Writes <paramref name="path"/> through a uniquely named temporary file in the same folder, flushed to disk, then renamed over it.</summary>
    /// <exception cref="IOException">The write failed (e.g. no space left); the message names the file; the previous file is kept.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        // once per folder and process: a folder of 60,000 exported images is not rescanned per file
        if (cleanedFolders.TryAdd(folder, 0)) CleanOrphans(folder);
        var temp = TempName(full);
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var hook = WrapStreamForTests ?? KillHookFromEnvironment(full);
                if (hook is null) write(file);
                else using (var wrapped = hook(full, file)) write(wrapped);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (IsWriteFailure(e))
        {
            TryDelete(temp);
            bool existed = File.Exists(full);
            throw new IOException($"{full}: could not write the file ({WriteFailureText(e)}); " +
                (existed ? "the previous file is kept." : "nothing was written."), e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        SyncFolder(folder);
    }

    /// <summary>
    /// Test-only fault hook for child processes: with <c>MAEDSL_FAULT_KILL_AFTER_BYTES=N</c> (and optionally
    /// <c>MAEDSL_FAULT_KILL_FILE=&lt;file name suffix&gt;</c>, e.g. <c>checkpoint-last.ckpt</c>) the process kills itself
    /// (SIGKILL, as kill -9) once N bytes of matching temporary files are written and flushed: the temporary file stays
    /// behind, the previous file is untouched, as after a real crash mid-write. N counts over all the matching writes of
    /// the process, so an N of one and a half checkpoints lets the first checkpoint through and kills the process halfway
    /// through the second.
    /// </summary>
    public const string KillAfterBytesVariable = "MAEDSL_FAULT_KILL_AFTER_BYTES", KillFileVariable = "MAEDSL_FAULT_KILL_FILE";

    static long killHookBytesWritten;   // bytes of matching temporary files written so far (the kill hook's count)

    static Func<string, Stream, Stream>? KillHookFromEnvironment(string target)
    {
        if (!long.TryParse(Environment.GetEnvironmentVariable(KillAfterBytesVariable), out long limit) || limit < 0) return null;
        string? suffix = Environment.GetEnvironmentVariable(KillFileVariable);
        if (!string.IsNullOrEmpty(suffix) && !target.EndsWith(suffix, StringComparison.Ordinal)) return null;
        return (_, stream) => new LimitedStream(stream, limit - Interlocked.Read(ref killHookBytesWritten),
            onClose: n => Interlocked.Add(ref killHookBytesWritten, n), atLimit: () =>
        {
            stream.Flush();
            if (stream is FileStream f) f.Flush(flushToDisk: true);
            Process.GetCurrentProcess().Kill();   // SIGKILL on Unix: no finally block, no cleanup runs
            Thread.Sleep(Timeout.Infinite);
        });
    }

    /// <summary>A write-only stream that passes on its first <paramref name="limit"/> bytes, then calls <paramref name="atLimit"/> (throw a full disk,
    /// kill the process); <paramref name="onClose"/> gets the count of bytes passed on when it is disposed.</summary>
    internal sealed class LimitedStream(Stream inner, long limit, Action atLimit, Action<long>? onClose = null) : Stream
    {
        bool closed;
        protected override void Dispose(bool disposing)
        {
            if (disposing && !closed) onClose?.Invoke(written);
            closed = true;
            base.Dispose(disposing);
        }

        long written;
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            int allowed = (int)Math.Min(buffer.Length, Math.Max(0, limit - written));
            inner.Write(buffer[..allowed]);
            written += allowed;
            if (allowed < buffer.Length) atLimit();
        }
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => written;
        public override long Position { get => written; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>
    /// True for what a failed write throws: an <see cref="IOException"/> (disk full, I/O error) other than a missing path, and,
    /// past a file-size limit (EFBIG, <c>ulimit -f</c>), the <see cref="ArgumentOutOfRangeException"/> .NET's System.IO throws
    /// ("Specified file length was too large for the file system").
    /// </summary>
    public static bool IsWriteFailure(Exception e) =>
        e is IOException and not FileNotFoundException and not DirectoryNotFoundException
        || e is ArgumentOutOfRangeException && (e.TargetSite?.DeclaringType?.Namespace?.StartsWith("System.IO", StringComparison.Ordinal) ?? false);

    /// <summary>The cause of a failed write, for a message.</summary>
    public static string WriteFailureText(Exception e) =>
        e is ArgumentOutOfRangeException ? "the file is larger than the file system or the file-size limit (ulimit -f) allows" : e.Message;

    /// <summary>The longest file name (bytes) the file systems MaeDsl runs on take (ext4, XFS, btrfs, tmpfs, NTFS in UTF-16 units).</summary>
    const int MaxNameBytes = 255;

    /// <summary>
    /// The temporary sibling a write of <paramref name="fullPath"/> goes through: <c>&lt;name&gt;.&lt;pid&gt;.&lt;16 hex&gt;.tmp</c>.
    /// When that passes <see cref="MaxNameBytes"/> (a legal name of more than about 230 bytes), the name part is cut to fit,
    /// at a character boundary: the temporary name only has to be unique and recognisable, the target keeps its full name.
    /// </summary>
    internal static string TempName(string fullPath)
    {
        string suffix = $".{Environment.ProcessId}.{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))}.tmp";
        string folder = Path.GetDirectoryName(fullPath)!, name = Path.GetFileName(fullPath);
        int budget = MaxNameBytes - suffix.Length;
        if (System.Text.Encoding.UTF8.GetByteCount(name) > budget)
        {
            int chars = 0, bytes = 0;
            foreach (var rune in name.EnumerateRunes())
            {
                if (bytes + rune.Utf8SequenceLength > budget) break;
                bytes += rune.Utf8SequenceLength;
                chars += rune.Utf16SequenceLength;
            }
            name = name[..chars];
        }
        return Path.Combine(folder, name + suffix);
    }

    // 16 hex digits (32 before; both are recognised, so a crash of an older build is cleaned up too)
    [GeneratedRegex(@"\.(\d+)\.(?:[0-9a-f]{16}|[0-9a-f]{32})\.tmp$")]
    private static partial Regex TempPattern();

    /// <summary>True if <paramref name="path"/> is named like a temporary file of <see cref="Write"/>.</summary>
    public static bool IsTemporary(string path) => TempPattern().IsMatch(Path.GetFileName(path));

    /// <summary>
    /// Deletes the temporary files of interrupted writes in <paramref name="folder"/> (not its sub-folders): those whose
    /// process is gone. A temporary file of a live process (another writer at work) is left alone. Returns the files deleted.
    /// </summary>
    public static IReadOnlyList<string> CleanOrphans(string folder)
    {
        var deleted = new List<string>();
        if (!Directory.Exists(folder)) return deleted;
        IEnumerable<string> files;
        try { files = Directory.EnumerateFiles(folder, "*.tmp").ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return deleted; }
        foreach (var file in files)
        {
            var match = TempPattern().Match(Path.GetFileName(file));
            if (!match.Success || !int.TryParse(match.Groups[1].Value, out int pid)) continue;
            if (pid != Environment.ProcessId && IsAlive(pid)) continue;
            if (pid == Environment.ProcessId && !IsStale(file)) continue;
            if (TryDelete(file)) deleted.Add(file);
        }
        return deleted;
    }

    // A temporary file of this very process is an orphan only if no write of ours is at work on it (older than a day).
    static bool IsStale(string file)
    {
        try { return DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > TimeSpan.FromDays(1); }
        catch (IOException) { return false; }
    }

    /// <summary>Whether process <paramref name="pid"/> is running (a process that exists but cannot be inspected counts as running).</summary>
    internal static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }       // no such process
        catch (InvalidOperationException) { return false; }
        catch (System.ComponentModel.Win32Exception) { return true; }   // exists, not ours to inspect
    }

    static bool TryDelete(string file)
    {
        try { File.Delete(file); return true; }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>fsyncs <paramref name="folder"/> so that a rename in it is durable (Linux, macOS; a no-op on Windows).</summary>
    public static void SyncFolder(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd;
        try { fd = open(folder, 0 /* O_RDONLY: enough to fsync a folder */); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return; }
        if (fd < 0) return;   // a folder we cannot open (permissions): the file itself is already on disk
        try { fsync(fd); }
        finally { close(fd); }
    }

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi)]
    static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    [DllImport("libc", SetLastError = true)]
    static extern int fsync(int fd);
    [DllImport("libc", SetLastError = true)]
    static extern int close(int fd);
}

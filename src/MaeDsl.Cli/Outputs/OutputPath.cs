// OutputPath: checks, before any work, that a command's output file can be written, and that writing it loses nothing: not
// one of the command's inputs, not an existing file of another kind, and a name whose extension is the format written.
using System.Text;

namespace MaeDsl.Cli;

/// <summary>
/// Refuses an output that is a folder or read-only (by its permission bits, so that root is told too), one of the command's
/// inputs, an existing file of another kind, or a name whose extension is not the format written, before the work starts.
/// </summary>
internal static class OutputPath
{
    /// <summary>Refuses <paramref name="output"/> when it names the same file as <paramref name="input"/> (also through a symlink).</summary>
    public static void NotAnInput(string output, string option, string input, string inputOption)
    {
        if (string.Equals(Resolved(output), Resolved(input), StringComparison.Ordinal))
            throw new ArgumentException($"{option} {Path.GetFullPath(output)} is the command's own {inputOption}: " +
                                        $"writing it would destroy the input; give another {option}");
    }

    /// <summary>Refuses an output whose extension is not one of <paramref name="extensions"/> (the format the command writes).</summary>
    public static void RequireExtension(string output, string option, string format, params string[] extensions)
    {
        string ext = Path.GetExtension(output);
        if (!extensions.Any(e => string.Equals(e, ext, StringComparison.OrdinalIgnoreCase)))
            throw new ArgumentException($"{option} {Path.GetFullPath(output)}: this command writes {format}, " +
                                        $"so the name must end with {string.Join(" or ", extensions)}" +
                                        (ext.Length > 0 ? $", not {ext}" : ""));
    }

    /// <summary>
    /// Refuses to replace an existing <paramref name="output"/> that is not itself a file of the kind written (<paramref name="isKind"/>
    /// reads its first bytes): a log, a checkpoint or a picture is never overwritten by another kind of file.
    /// </summary>
    public static void ReplacesOnlyItsKind(string output, string option, string kind, Func<byte[], bool> isKind)
    {
        if (!File.Exists(output)) return;
        var head = new byte[512];
        int n;
        using (var stream = new FileStream(output, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n > 0 && !isKind(head[..n]))
            throw new ArgumentException($"{option} {Path.GetFullPath(output)} exists and is not {kind}: it is not replaced; " +
                                        $"give another {option} or remove the file first");
    }

    /// <summary>The kinds <see cref="ReplacesOnlyItsKind"/> recognises by their first bytes.</summary>
    public static class Kinds
    {
        public static bool Png(byte[] head) => head.AsSpan().StartsWith((byte[])[0x89, (byte)'P', (byte)'N', (byte)'G']);
        public static bool Npy(byte[] head) => head.AsSpan().StartsWith((byte[])[0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y']);
        /// <summary>A .safetensors whose header names the tensor "features" (one embed wrote), not a model's weights.</summary>
        public static bool FeaturesSafetensors(byte[] head) =>
            head.Length > 8
            && Encoding.UTF8.GetString(head, 8, head.Length - 8).StartsWith($"{{\"{MaeDsl.IO.MatrixFileWriter.SafetensorsName}\"", StringComparison.Ordinal);
        /// <summary>A CSV whose header starts with <paramref name="header"/> (one this command wrote).</summary>
        public static Func<byte[], bool> CsvWithHeader(string header) => head => Encoding.UTF8.GetString(head).StartsWith(header, StringComparison.Ordinal);
    }

    /// <summary>Creates the output folder <paramref name="dir"/>; a refusal of the file system is one line naming
    /// <paramref name="option"/>, not .NET's wording.</summary>
    public static string CreateFolder(string dir, string option)
    {
        string full = Path.GetFullPath(dir);
        if (File.Exists(full)) throw new IOException($"{option} {full} is a file, not a folder");
        try { Directory.CreateDirectory(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var parent = Path.GetDirectoryName(full);
            while (parent is not null && !Directory.Exists(parent)) parent = Path.GetDirectoryName(parent);
            string reason = e switch
            {
                UnauthorizedAccessException => "permission denied",
                FileNotFoundException or DirectoryNotFoundException => "that file system takes no new folder (a virtual one such as /proc or /sys?)",
                _ => e.Message.Split(':')[0].Trim(),
            };
            throw new IOException($"{option} {full}: cannot create this folder in {parent ?? "/"} ({reason}); give a folder you can write to", e);
        }
        return full;
    }

    static string Resolved(string path)
    {
        string full = Path.GetFullPath(path);
        try { return File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full; }
        catch (IOException) { return full; }
    }

    /// <summary>The absolute path of <paramref name="path"/> after checking it (<paramref name="option"/> names it in the message).</summary>
    public static string Check(string path, string option)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"{option}: {full} is a folder; give a file name");
        if (File.Exists(full) && ReadOnly(full)) throw new UnauthorizedAccessException($"{option}: {full} is read-only");
        var dir = Path.GetDirectoryName(full)!;
        for (var d = dir; d is not null; d = Path.GetDirectoryName(d))
        {
            if (File.Exists(d)) throw new IOException($"{option}: {d} is a file, not a folder");
            if (Directory.Exists(d))
            {
                if (ReadOnly(d)) throw new UnauthorizedAccessException($"{option}: cannot write into {d}: the folder is read-only");
                break;
            }
        }
        return full;
    }

    static bool ReadOnly(string path)
    {
        if (OperatingSystem.IsWindows()) return (File.GetAttributes(path) & FileAttributes.ReadOnly) != 0 && !Directory.Exists(path);
        return (File.GetUnixFileMode(path) & UnixFileMode.UserWrite) == 0;
    }
}

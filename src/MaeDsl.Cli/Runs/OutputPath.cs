// OutputPath: checks, before any work, that a command's output file can be written.
namespace MaeDsl.Cli;

/// <summary>Refuses an output that is a folder or read-only (by its permission bits, so that root is told too) before the work starts.</summary>
public static class OutputPath
{
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

// FileKinds: what a path is (regular file, folder, symlink, FIFO/device/socket) without opening it.
using System.Runtime.InteropServices;

namespace MaeDsl.IO;

/// <summary>The type of a directory entry.</summary>
internal enum FileKind
{
    /// <summary>Nothing at that path (or a symlink whose target is missing, when links are followed).</summary>
    Missing,
    Regular,
    Directory,
    /// <summary>A symbolic link (only when links are not followed).</summary>
    Symlink,
    /// <summary>A FIFO (named pipe): opening it for reading blocks until a writer comes.</summary>
    Fifo,
    /// <summary>A character or block device.</summary>
    Device,
    Socket,
    Other,
}

/// <summary>
/// Tells the type of a path without opening it. .NET's FileSystemInfo reports a FIFO or a device as a "Normal" file and
/// opening a FIFO blocks, so on Unix this asks lstat/stat through the runtime's own native shim (libSystem.Native, which
/// every .NET on Linux and macOS ships); on Windows FileAttributes are enough (Device, ReparsePoint, Directory).
/// </summary>
internal static class FileKinds
{
    /// <summary>The kind of <paramref name="path"/>; with <paramref name="followLinks"/> a symlink is resolved to its final target.</summary>
    public static FileKind Of(string path, bool followLinks = false)
    {
        if (!OperatingSystem.IsWindows())
        {
            var status = new byte[512];   // FileStatus: int32 Flags, int32 Mode, …; larger than any version of it
            int result;
            try { result = followLinks ? Stat(path, status) : LStat(path, status); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return FromAttributes(path, followLinks); }
            if (result != 0) return FileKind.Missing;
            return (BitConverter.ToInt32(status, 4) & 0xF000) switch
            {
                0x8000 => FileKind.Regular,
                0x4000 => FileKind.Directory,
                0xA000 => FileKind.Symlink,
                0x1000 => FileKind.Fifo,
                0x2000 or 0x6000 => FileKind.Device,
                0xC000 => FileKind.Socket,
                _ => FileKind.Other,
            };
        }
        return FromAttributes(path, followLinks);
    }

    static FileKind FromAttributes(string path, bool followLinks)
    {
        FileSystemInfo info = new FileInfo(path);
        if (!info.Exists && !Directory.Exists(path) && info.LinkTarget is null) return FileKind.Missing;
        if (info.LinkTarget is not null)
        {
            if (!followLinks) return FileKind.Symlink;
            try { info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info; }
            catch (IOException) { return FileKind.Missing; }
            if (!info.Exists && !Directory.Exists(info.FullName)) return FileKind.Missing;
        }
        var a = info.Attributes;
        if (a.HasFlag(FileAttributes.Device)) return FileKind.Device;
        if (a.HasFlag(FileAttributes.Directory)) return FileKind.Directory;
        return FileKind.Regular;
    }

    /// <summary>
    /// The check every file opened for reading passes first (checkpoints, weights, config files, IDX files, images): unless
    /// <paramref name="path"/> is a regular file (a symlink counts as its final target), one exception naming it, its kind and
    /// the <paramref name="what"/> expected, without opening it: opening a FIFO blocks until a writer comes, a device never ends.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is there (or a symlink to nothing).</exception>
    /// <exception cref="InvalidDataException">A folder, FIFO, device, socket or other special file.</exception>
    public static void RequireRegular(string path, string what)
    {
        var kind = Of(path, followLinks: true);
        if (kind == FileKind.Regular) return;
        string full = Path.GetFullPath(path);
        if (kind == FileKind.Missing) throw new FileNotFoundException($"{full}: no such file; expected a {what} file", full);
        throw new InvalidDataException($"{full}: a {Describe(kind)}, not a regular file; expected a {what} file (refused without opening it)");
    }

    /// <summary>A word for messages: "FIFO", "device", "socket", "symlink", "folder", "file".</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Fifo => "FIFO (named pipe)", FileKind.Device => "device", FileKind.Socket => "socket", FileKind.Symlink => "symlink",
        FileKind.Directory => "folder", FileKind.Regular => "regular file", FileKind.Missing => "missing", _ => "special file",
    };

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat", SetLastError = true)]
    static extern int LStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] status);

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
    static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] status);
}

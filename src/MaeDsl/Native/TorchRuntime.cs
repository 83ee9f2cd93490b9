// TorchRuntime: checks that libtorch loads and explains why not.
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace MaeDsl.Native;

/// <summary>Thrown when libtorch cannot be loaded; the message says why and how to fix it.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner) : Exception(message, inner);

/// <summary>
/// Loads TorchSharp's native libraries once, and turns TorchSharp's misleading "package not restored"
/// failure into a message that names the real cause: on Debian 12 the system libstdc++ is too old
/// for libLibTorchSharp.so (it needs GLIBCXX_3.4.32, from GCC 13).
/// </summary>
internal static class TorchRuntime
{
    /// <summary>The libstdc++ symbol version TorchSharp 0.107's native shim needs.</summary>
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";
    /// <summary>The command that fixes a too-old libstdc++ on Debian 12 (run from the repository root).</summary>
    public const string FixCommand = "sudo bash eng/install-native-deps.sh";

    static readonly Lazy<Exception?> loadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Makes sure libtorch is loaded; throws <see cref="TorchRuntimeException"/> with the cause otherwise.</summary>
    public static void EnsureLoaded()
    {
        if (loadFailure.Value is { } e) throw new TorchRuntimeException(Explain(e), e);
    }

    static Exception? TryLoad()
    {
        try
        {
            NativeSettings.Apply();   // before libtorch (and libgomp) load
            TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU);
            using var probe = TorchSharp.torch.zeros(1);
            return null;
        }
        catch (Exception e) { return e; }
    }

    static string Explain(Exception e)
    {
        var (path, newest) = OperatingSystem.IsLinux() ? FindLibStdCxx() : (null, null);
        return Explain(e, OperatingSystem.IsLinux(), path, newest);
    }

    /// <summary>The message for a load failure, given what was found of the system libstdc++.</summary>
    internal static string Explain(Exception e, bool linux, string? path, string? newest)
    {
        var message = new StringBuilder("TorchSharp could not load libtorch. ");
        if (linux)
        {
            if (path is null)
                message.Append($"No libstdc++.so.6 was found; TorchSharp 0.107 needs one that provides {RequiredGlibcxx} (GCC 13 or newer). ");
            else if (CompareGlibcxx(newest, RequiredGlibcxx) < 0)
                message.Append($"The system libstdc++ ({path}) provides at most {newest ?? "no GLIBCXX version"}, but TorchSharp 0.107's libLibTorchSharp.so " +
                    $"needs {RequiredGlibcxx} (GCC 13 or newer); ")
                       .Append("TorchSharp's own message below blames a missing package, which is not the cause. ")
                       .Append($"Fix it with: {FixCommand} (on Debian 12 it installs trixie's libstdc++6, pinned at priority 100). ");
            else
                message.Append($"The system libstdc++ ({path}) provides {newest}, which is new enough, so the cause is elsewhere: check that the " +
                    $"TorchSharp-cpu package (libtorch-cpu-linux-x64) was restored and its native files copied next to the application. ");
        }
        message.Append("TorchSharp said: ").Append(Innermost(e).Message);
        return message.ToString();
    }

    static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>The system libstdc++ and the newest GLIBCXX_3.4.x version it provides.</summary>
    public static (string? Path, string? Newest) FindLibStdCxx()
    {
        string[] candidates =
        [
            $"/usr/lib/{RuntimeInformation.ProcessArchitecture switch { Architecture.Arm64 => "aarch64", _ => "x86_64" }}-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        ];
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate)) continue;
            var text = Encoding.Latin1.GetString(File.ReadAllBytes(candidate));
            string? newest = null;
            foreach (Match m in Regex.Matches(text, @"GLIBCXX_3\.4(\.\d+)?"))
                if (CompareGlibcxx(m.Value, newest) > 0) newest = m.Value;
            return (candidate, newest);
        }
        return (null, null);
    }

    /// <summary>Compares GLIBCXX_3.4.N versions by N (null is oldest).</summary>
    public static int CompareGlibcxx(string? a, string? b)
    {
        static int Minor(string? v) => v is null ? -1 : v.Length > "GLIBCXX_3.4".Length ? int.Parse(v["GLIBCXX_3.4.".Length..]) : 0;
        return Minor(a).CompareTo(Minor(b));
    }
}

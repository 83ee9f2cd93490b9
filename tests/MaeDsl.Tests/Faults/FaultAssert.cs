// Shared checks of the fault-injection suite: a refusal is one line that names the file; folders are temporary.
using System.Diagnostics;

namespace MaeDsl.Tests.Faults;

static class FaultAssert
{
    /// <summary>Runs <paramref name="action"/> and returns its exception, which must be exactly <typeparamref name="T"/> with a one-line message naming <paramref name="names"/>.</summary>
    public static T Refuses<T>(Action action, params string[] names) where T : Exception
    {
        var e = Assert.ThrowsAny<Exception>(action);
        Assert.True(e.GetType() == typeof(T), $"expected {typeof(T).Name}, got {e.GetType().Name}: {e.Message}");
        OneLine(e.Message, names);
        return (T)e;
    }

    public static void OneLine(string message, params string[] names)
    {
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain("   at ", message);
        foreach (var n in names) Assert.True(message.Contains(n, StringComparison.Ordinal), $"'{n}' is not in the message: {message}");
    }

    /// <summary>Runs a program (mkfifo, ln, mount) and requires it to succeed.</summary>
    public static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} failed: {err}");
    }

    public static bool TryRun(string file, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    /// <summary>Runs <paramref name="body"/> and fails (instead of hanging the suite) if it takes longer than <paramref name="seconds"/>.</summary>
    public static T Within<T>(double seconds, Func<T> body)
    {
        var task = Task.Run(body);
        Assert.True(task.Wait(TimeSpan.FromSeconds(seconds)), $"did not finish within {seconds} s (hung)");
        return task.Result;
    }
}

/// <summary>A temporary folder, deleted (without following symlinks) at the end of the test.</summary>
sealed class FaultDir : IDisposable
{
    public FaultDir() => Path = Directory.CreateTempSubdirectory("maedsl-fault-").FullName;
    public string Path { get; }
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } }
}

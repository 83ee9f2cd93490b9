using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace MaeDsl.Tests.Distributed;

/// <summary>
/// The MPI process group across 2 real ranks: tests/MaeDsl.MpiProbe launched by MPICH's <c>mpiexec -n 2</c>, each case
/// checked inside each rank (see its Program.cs) and here from the exit code and output. Skipped where MPICH's mpiexec
/// is not installed (eng/install-native-deps.sh installs it).
/// </summary>
[Collection(nameof(MpiTests))]   // one launch at a time: each takes both cores
public class MpiTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    /// <summary>MPICH's launcher: mpiexec.mpich (Debian's name, whatever the mpiexec alternative points to), else an mpiexec that is Hydra.</summary>
    static string? Mpiexec()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in new[] { "mpiexec.mpich", "mpiexec.hydra", "mpiexec" })
            foreach (var dir in path)
            {
                var candidate = Path.Combine(dir, name);
                if (!File.Exists(candidate)) continue;
                if (name != "mpiexec") return candidate;
                var (_, output, _) = Run(candidate, ["--version"], TimeSpan.FromSeconds(30));
                if (output.Contains("HYDRA", StringComparison.OrdinalIgnoreCase)) return candidate;
            }
        return null;
    }

    static string Probe()
    {
        var path = typeof(MpiTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "MpiProbe").Value!;
        Assert.True(File.Exists(path), $"the MPI probe is not built at {path} (MaeDsl.Tests references its project)");
        return path;
    }

    sealed record Launch(int ExitCode, string Output, List<(TimeSpan At, string Line)> Lines, TimeSpan Elapsed);

    static (int ExitCode, string Output, Launch Launch) Run(string file, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["OMP_NUM_THREADS"] = "1";
        var lines = new List<(TimeSpan, string)>();
        var watch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        DataReceivedEventHandler add = (_, e) => { if (e.Data is not null) lock (lines) lines.Add((watch.Elapsed, e.Data)); };
        process.OutputDataReceived += add;
        process.ErrorDataReceived += add;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            lock (lines) Assert.Fail($"{file} {string.Join(' ', arguments)} did not end within {timeout}: it hangs\n{string.Join('\n', lines.Select(l => l.Item2))}");
        }
        process.WaitForExit();
        var elapsed = watch.Elapsed;
        lock (lines)
        {
            var output = string.Join('\n', lines.Select(l => l.Item2));
            return (process.ExitCode, output, new Launch(process.ExitCode, output, lines.ToList(), elapsed));
        }
    }

    static Launch Mpi(string @case)
    {
        var mpiexec = Mpiexec();
        Skip.If(mpiexec is null, "MPICH's mpiexec is not installed (apt-get install mpich, or eng/install-native-deps.sh)");
        return Run(mpiexec!, ["-n", "2", "dotnet", Probe(), @case], Timeout).Launch;
    }

    /// <summary>average: AverageGradients equals the mean of both ranks' gradients computed in one process (buckets of copies, a
    /// gradient reduced in place, a frozen parameter); collectives: Average, AnyRank, AllEqual, the broadcasts, Checksum, SumInPlace.</summary>
    [SkippableTheory]
    [InlineData("average", "ok average: 5 gradients")]
    [InlineData("collectives", "ok collectives")]
    public void Every_rank_sees_the_collectives_results(string @case, string expected)
    {
        var run = Mpi(@case);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains($"rank 0: {expected}", run.Output);
        Assert.Contains($"rank 1: {expected}", run.Output);
    }

    [SkippableFact]
    public void An_exception_on_one_rank_ends_both_with_its_error_line_and_a_nonzero_exit()
    {
        var run = Mpi("throw");
        Assert.NotEqual(0, run.ExitCode);
        var errors = run.Lines.Where(l => l.Line.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.True(errors.Length == 1, run.Output);
        Assert.Equal("error: rank 1: a damaged batch (the fault test's failure)", errors[0].Line);
        Assert.DoesNotContain("rank 0: ok", run.Output);
        Assert.DoesNotContain("   at ", run.Output);   // no stack trace
    }

    [SkippableFact]
    public void A_killed_rank_ends_the_other_within_seconds_never_a_hang()
    {
        var run = Mpi("kill");
        Assert.NotEqual(0, run.ExitCode);
        var killed = run.Lines.Where(l => l.Line == "rank 1: killing itself").Select(l => (TimeSpan?)l.At).FirstOrDefault();
        Assert.True(killed is not null, run.Output);
        var after = run.Elapsed - killed!.Value;
        Assert.True(after < TimeSpan.FromSeconds(30), $"rank 0 ended {after.TotalSeconds:F1} s after rank 1 was killed\n{run.Output}");
        Assert.DoesNotContain("rank 0: ok", run.Output);
    }

    [SkippableFact]
    public void Ranks_with_different_gradients_are_refused_with_one_line_each()
    {
        var run = Mpi("mismatch");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("the ranks have gradients for different parameters (4–5 tensors", run.Output);
        Assert.DoesNotContain("mismatch not detected", run.Output);
    }
}

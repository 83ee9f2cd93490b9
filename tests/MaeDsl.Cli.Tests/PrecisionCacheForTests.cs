// Points --precision auto's cache at a folder of this test run (MAEDSL_PRECISION_CACHE, inherited by the child processes the
// tests start): every command line here that runs auto measures each model's shapes once per test run, then reads the cache,
// so the tests stay fast, the decision stays the same within the run (resume tests stay bit-identical), and the user's cache
// is never read or written. Tests of the decision itself inject their own cache (PrecisionOption.CacheForTests).
using System.Runtime.CompilerServices;

namespace MaeDsl.Cli.Tests;

internal static class PrecisionCacheForTests
{
    /// <summary>This test run's cache file.</summary>
    public static string Path { get; private set; } = "";

    [ModuleInitializer]
    internal static void PointAutoAtThisTestRun()
    {
        string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"maedsl-cli-tests-precision-{Environment.ProcessId}");
        Path = System.IO.Path.Combine(folder, "precision.json");
        Environment.SetEnvironmentVariable(MaeDsl.PrecisionCache.EnvironmentVariable, Path);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }
}

/// <summary>While not disposed, the command lines this test runs in process use a cache of their own (a new file in
/// <paramref name="dir"/>), holding <paramref name="measurement"/> when given for the tiny model's pre-training at
/// <paramref name="batch"/> images and one thread: the injected rates of a CPU the test does not need.</summary>
internal sealed class InjectedPrecisionCache : IDisposable
{
    readonly PrecisionCache? previous = PrecisionOption.CacheForTests.Value;

    public InjectedPrecisionCache(string dir, int batch, PrecisionMeasurement? measurement)
    {
        Cache = new PrecisionCache(Path.Combine(dir, $"precision-{Guid.NewGuid():N}.json"));
        if (measurement is not null)
        {
            string shape = new PrecisionCalibration(MaeModels.Find("tiny").Spec, PrecisionWorkload.Pretrain, batch).Shape;
            Cache.Store(PrecisionKey.ForThisMachine(shape) with { Threads = 1 }, measurement);
        }
        PrecisionOption.CacheForTests.Value = Cache;
    }

    public PrecisionCache Cache { get; }

    public void Dispose() => PrecisionOption.CacheForTests.Value = previous;
}

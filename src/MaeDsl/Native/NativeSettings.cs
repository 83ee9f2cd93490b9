// NativeSettings: the process-wide settings of glibc's allocator and of libgomp that libtorch's CPU training runs best
// with, applied once before libtorch is loaded.
using System.Runtime.InteropServices;

namespace MaeDsl.Native;

/// <summary>
/// Two process-wide native settings that <see cref="TorchRuntime"/> applies before it loads libtorch (Linux, glibc);
/// the measurements behind them are in docs/benchmarks.md ("native settings").
/// <list type="bullet">
/// <item><b>glibc malloc keeps freed memory for reuse.</b> A training step allocates and frees the same large
/// activations every iteration. By default glibc returns the freed top of its heap to the kernel (and serves some
/// blocks with mmap), so the next step faults every page in again: half a million page faults for 20 steps of the
/// tiny model, 8 % of its CPU time in the kernel. With an mmap threshold of 32 MiB (glibc's largest) and a trim
/// threshold of 512 MiB the heap keeps them; peak RSS is unchanged (the same blocks come back). Both are
/// glibc's own tunables (<c>mallopt</c>); a user's <c>MALLOC_MMAP_THRESHOLD_</c> / <c>MALLOC_TRIM_THRESHOLD_</c>
/// (or <c>GLIBC_TUNABLES</c>) wins.</item>
/// <item><b>libgomp's threads do not spin on a busy machine.</b> Between two parallel regions libgomp's idle threads
/// busy-wait (300,000 spins by default) before they sleep. On a machine where other processes want the cores the
/// spinning threads steal the time the working ones need. Unless the user set <c>OMP_WAIT_POLICY</c> or
/// <c>GOMP_SPINCOUNT</c>, MaeDsl sets <c>GOMP_SPINCOUNT</c> to <see cref="GompSpinCount"/> (libgomp reads it when it
/// is loaded, with libtorch).</item>
/// </list>
/// </summary>
internal static class NativeSettings
{
    /// <summary>The mmap threshold: blocks below it come from the heap and are reused (glibc's maximum, 32 MiB).</summary>
    public const int MmapThreshold = 32 << 20;
    /// <summary>The trim threshold: freed memory at the top of the heap is returned to the kernel above it.</summary>
    public const int TrimThreshold = 512 << 20;
    /// <summary>libgomp's busy-wait count before an idle thread sleeps (its default is 300,000).</summary>
    public const string GompSpinCount = "10000";

#pragma warning disable IDE1006   // glibc's names of the mallopt(3) parameters
    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;
#pragma warning restore IDE1006
    static int applied;

    /// <summary>Applies both settings once per process (a no-op off glibc Linux, or when the user chose).</summary>
    public static void Apply()
    {
        if (Interlocked.Exchange(ref applied, 1) == 1 || !OperatingSystem.IsLinux()) return;
        try
        {
            if (!UserSet("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"))
            {
                mallopt(M_MMAP_THRESHOLD, MmapThreshold);
                mallopt(M_TRIM_THRESHOLD, TrimThreshold);
            }
            if (!UserSet("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
                setenv("GOMP_SPINCOUNT", GompSpinCount, 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }   // not glibc (musl): keep its defaults
    }

    static bool UserSet(params string[] names) => names.Any(n => Environment.GetEnvironmentVariable(n) is not null);

    [DllImport("libc", SetLastError = true)]
    static extern int mallopt(int param, int value);

    // .NET's Environment.SetEnvironmentVariable does not reach the native environment on Unix; libgomp reads that one.
    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);
}

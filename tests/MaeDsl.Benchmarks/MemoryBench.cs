using System.Diagnostics;
using System.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `memory [--steps 300] [--batch 256] [--threads N]`: pre-training steps of the main job's tiny model (random masking,
/// AdamW (0.9, 0.95), weight decay 0.05, a fresh random batch per step, each step in a dispose scope) while sampling the
/// process RSS and TorchSharp's live-tensor count after every step; growth from step 50 to the last, both samples taken
/// after a full garbage collection and glibc's malloc_trim (the growth without them is printed too: it is mostly garbage not yet collected). It runs under a
/// GC heap hard limit: without DOTNET_GCHeapHardLimit in its environment it starts itself again with
/// DOTNET_GCHeapHardLimit=0x10000000 (256 MiB) and passes its exit code on.
/// </summary>
static class MemoryBench
{
    public const string HeapLimitVariable = "DOTNET_GCHeapHardLimit";
    const string DefaultHeapLimit = "0x10000000";

    public static int Run(Options options)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(HeapLimitVariable))) return Relaunch();
        int steps = options.Int("--steps", 300), batch = options.Int("--batch", 256), threads = options.Int("--threads", Environment.ProcessorCount);
        if (steps <= 50) throw new ArgumentException("--steps must be above 50 (growth is measured from step 50)");
        set_num_threads(threads);
        string limit = Environment.GetEnvironmentVariable(HeapLimitVariable)!;
        Console.WriteLine($"memory: tiny MAE pre-training, {steps} steps of batch {batch}, {threads} threads, {HeapLimitVariable}={limit} " +
                          $"(GC sees {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 20} MiB); {Machine()}");

        using var model = new MaeBenchTiny(seed: 0);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1.5e-4, beta1: 0.9, beta2: 0.95, weight_decay: 0.05);
        var generator = new Generator(3);
        model.train();
        var rss = new long[steps + 1];
        var live = new long[steps + 1];
        using var process = Process.GetCurrentProcess();
        long rawRss = 0;
        double rawGrowth = 0;
        var gcCommitted = new long[2];   // the GC's committed bytes after the collection at step 50 and at the last step
        for (int step = 1; step <= steps; step++)
        {
            NoGc(() =>
            {
                using var scope = NewDisposeScope();
                var images = randn([batch, 1, 28, 28], generator: generator);
                optimizer.zero_grad();
                var output = model.forward(images);
                output.Loss.backward();
                optimizer.step();
            });
            if (step == 50 || step == steps)
            {
                // what stays: uncollected garbage (TorchSharp's wrappers, Scalars) is not a leak
                rawRss = step == 50 ? Rss(process) : rawRss;
                rawGrowth = step == steps ? (Rss(process) - rawRss) / 1048576.0 : 0;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                // aggressive: the GC also decommits the free regions it keeps for its next allocations (not garbage, not a leak)
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                if (OperatingSystem.IsLinux()) MallocTrim(0);   // glibc keeps freed native memory in its arenas
                gcCommitted[step == 50 ? 0 : 1] = GC.GetGCMemoryInfo().TotalCommittedBytes;
            }
            rss[step] = Rss(process);
            live[step] = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
            if (step == 1 || step == 50 || step % 50 == 0 || step == steps)
                Console.WriteLine($"  step {step,5}: rss {F(rss[step] / 1048576.0, 1),8} MiB, live tensors {live[step],6}, managed heap {F(GC.GetTotalMemory(false) / 1048576.0, 1)} MiB");
        }
        double rssGrowth = (rss[steps] - rss[50]) / 1048576.0;
        Console.WriteLine($"RSS growth from step 50 to {steps}: {F(rssGrowth, 1)} MiB after a full (aggressive) collection and malloc_trim at both ends ({F(rawGrowth, 1)} MiB without); " +
                          $"the GC's committed memory {F(gcCommitted[0] / 1048576.0, 1)} → {F(gcCommitted[1] / 1048576.0, 1)} MiB");
        long liveGrowth = live[steps] - live[50];
        Console.WriteLine($"memory steps={steps} rss_growth_mb={F(rssGrowth, 1)} live_tensor_growth={liveGrowth}");
        return 0;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    static long Rss(Process process)
    {
        process.Refresh();
        return process.WorkingSet64;
    }

    /// <summary>As the trainers do: no garbage collection inside a step (TorchSharp's finalised Scalars, see environment notes).</summary>
    static void NoGc(Action step)
    {
        bool entered = false;
        try { entered = GC.TryStartNoGCRegion(16L << 20); }
        catch (InvalidOperationException) { }
        catch (ArgumentOutOfRangeException) { }
        try { step(); }
        finally { if (entered && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion(); }
    }

    static int Relaunch()
    {
        string path = Environment.ProcessPath!;
        var start = new ProcessStartInfo(path) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(path) == "dotnet") start.ArgumentList.Add(typeof(MemoryBench).Assembly.Location);
        foreach (var arg in Environment.GetCommandLineArgs()[1..]) start.ArgumentList.Add(arg);
        start.Environment[HeapLimitVariable] = DefaultHeapLimit;
        Console.WriteLine($"memory: starting again with {HeapLimitVariable}={DefaultHeapLimit}");
        using var child = Process.Start(start)!;
        child.WaitForExit();
        return child.ExitCode;
    }
}

using System.Diagnostics;
using MaeDsl.Distributed;
using MaeDsl.Native;
using MaeDsl.Presets;
using TorchSharp;
using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `allreduce [--ranks 2] [--rounds 10] [--steps 5] [--tiny-batch 128] [--vitb-batch 2]`: data-parallel costs on this
/// machine. Started without a launcher, it runs itself under MPICH's <c>mpiexec -n ranks</c> (1 thread per rank), then
/// measures the same training steps in this one process with ranks threads. Under mpiexec:
/// <list type="bullet">
/// <item>the latency of a one-number Allreduce (IProcessGroup.Average);</item>
/// <item>for the gradients of the tiny model and of MAE ViT-B/16: the in-place Allreduce of one flat buffer of that size
/// (time, algorithm bandwidth bytes/t, bus bandwidth 2(N−1)/N·bytes/t as nccl-tests count it), and
/// IProcessGroup.AverageGradients over the model's real parameters (buckets, copies, division);</item>
/// <item>training steps (forward, backward, AverageGradients, AdamW) at the per-rank batch, and the share of the step spent
/// averaging.</item>
/// </list>
/// The single process then runs the same steps at ranks × the batch with ranks threads: the comparison of "N ranks × 1
/// thread" against "1 process × N threads" at the same effective batch.
/// </summary>
static class AllreduceBench
{
    public static int Run(Options options)
    {
        int ranks = options.Int("--ranks", 2), rounds = options.Int("--rounds", 10), steps = options.Int("--steps", 5);
        int tinyBatch = options.Int("--tiny-batch", 128), vitbBatch = options.Int("--vitb-batch", 2);
        TorchRuntime.EnsureLoaded();   // MaeDsl's native settings (libgomp's spin count, malloc), as the CLI runs
        if (Environment.GetEnvironmentVariable("PMI_SIZE") is null) return Launch(ranks, steps, tinyBatch, vitbBatch);

        set_num_threads(1);
        using var group = ProcessGroup.Start();
        bool main = group.IsMain;
        void Say(string line) { if (main) Console.WriteLine(line); }
        Say($"allreduce: {group.Description}, 1 thread per rank, {rounds} rounds; {Machine()}");

        var latency = new List<double>();
        for (int i = 0; i < Math.Max(50, rounds); i++) { group.Barrier(); latency.Add(Seconds(() => group.Average(i))); }
        Say($"one-number Allreduce (Average): median {F(Median(latency) * 1e6, 1)} µs");

        // the raw in-place Allreduce of one flat float32 buffer, by size
        Say($"{"in-place Allreduce",-28} {"floats",12} {"MB",8} {"ms",10} {"algbw GB/s",11} {"busbw GB/s",11}");
        using var tinyModel = new MaeBenchTiny(seed: 0);
        using var vitbModel = new MaeVitBase16(seed: 0);
        string summary = "";
        foreach (var (name, floats) in new (string, long)[] { ("tiny's gradients", Count(tinyModel)), ("1M floats", 1 << 20),
            ("one 25 MiB bucket", ProcessGroup.BucketBytes / 4), ("ViT-B/16's gradients", Count(vitbModel)) })
        {
            using var flat = ones(floats);
            var times = new List<double>();
            for (int i = 0; i <= rounds; i++)
            {
                group.Barrier();
                double t = Seconds(() => group.SumInPlace(flat));
                if (i > 0) times.Add(t);   // the first round warms up
            }
            double bytes = floats * 4.0, median = Median(times), algbw = bytes / median / 1e9, busbw = algbw * 2 * (group.Size - 1) / group.Size;
            Say($"{name,-28} {floats,12:N0} {F(bytes / 1e6, 1),8} {F(median * 1e3, 2),10} {F(algbw, 2),11} {F(busbw, 2),11}");
            summary += $" allreduce_{floats}_ms={F(median * 1e3, 2)} busbw_{floats}_gbs={F(busbw, 2)}";
        }

        // AverageGradients over each model's real parameters (gradients of ones): 25 MiB buckets, copies, division
        foreach (var (name, model) in new (string, nn.Module)[] { ("tiny", tinyModel), ("vitb", vitbModel) })
        {
            var parameters = model.parameters().ToArray();
            NoGcDuringTorch.Run(() => { using var scope = NewDisposeScope(); parameters.Select(p => p.sum()).Aggregate((a, b) => a + b).backward(); return 0; });
            var times = new List<double>();
            for (int i = 0; i <= rounds; i++)
            {
                group.Barrier();
                double t = Seconds(() => NoGcDuringTorch.Run(() => { group.AverageGradients(parameters); return 0; }));
                if (i > 0) times.Add(t);
            }
            double bytes = Count(model) * 4.0, median = Median(times);
            Say($"AverageGradients {name}: {parameters.Length} tensors, {F(bytes / 1e6, 1)} MB: median {F(median * 1e3, 2)} ms "
                + $"(busbw {F(bytes / median / 1e9 * 2 * (group.Size - 1) / group.Size, 2)} GB/s)");
            summary += $" {name}_average_ms={F(median * 1e3, 2)}";
        }

        foreach (var (name, batch) in new[] { ("tiny", tinyBatch), ("vitb", vitbBatch) })
        {
            var (step, share) = TrainingSteps(name, batch, steps, group);
            Say($"{name} training step, {group.Size} ranks × 1 thread × batch {batch}: median {F(step, 3)} s, of which AverageGradients {F(share, 3)} s "
                + $"({F(100 * share / step, 1)} %); {F(group.Size * batch / step, 1)} img/s");
            summary += $" {name}_step_s={F(step, 3)} {name}_average_s={F(share, 4)}";
        }
        Say($"allreduce ranks={group.Size}{summary}");
        group.Dispose();
        return 0;
    }

    static long Count(nn.Module model) => model.parameters().Sum(p => p.NumberOfElements);

    /// <summary>Median step seconds and median AverageGradients seconds of <paramref name="steps"/> MAE training steps (after one warm-up).</summary>
    static (double Step, double Average) TrainingSteps(string name, int batch, int steps, IProcessGroup group)
    {
        using var model = name == "tiny" ? (MaskedAutoencoder)new MaeBenchTiny(seed: 0) : new MaeVitBase16(seed: 0);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1.5e-4, beta1: 0.9, beta2: 0.95, weight_decay: 0.05);
        var parameters = model.parameters().ToArray();
        var spec = model.Spec;
        using var images = randn([batch, spec.Channels, spec.ImageSize, spec.ImageSize], generator: new Generator((ulong)(1 + group.Rank)));
        model.train();
        var total = new List<double>();
        var averaging = new List<double>();
        for (int i = 0; i <= steps; i++)
        {
            group.Barrier();
            double a = 0;
            double s = Seconds(() => NoGcDuringTorch.Run(() =>
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                model.forward(images).Loss.backward();
                a = Seconds(() => group.AverageGradients(parameters));
                optimizer.step();
                return 0;
            }));
            if (i > 0) { total.Add(s); averaging.Add(a); }
        }
        return (Median(total), Median(averaging));
    }

    /// <summary>Runs this subcommand under mpiexec -n <paramref name="ranks"/>, then the same training steps in this process with ranks threads.</summary>
    static int Launch(int ranks, int steps, int tinyBatch, int vitbBatch)
    {
        var mpiexec = new[] { "mpiexec.mpich", "mpiexec" }
            .SelectMany(n => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, n)))
            .FirstOrDefault(File.Exists) ?? throw new ArgumentException("allreduce needs MPICH's mpiexec (apt-get install mpich, or eng/install-native-deps.sh)");
        var start = new ProcessStartInfo(mpiexec) { UseShellExecute = false };
        foreach (var a in new[] { "-n", ranks.ToString(C), Environment.ProcessPath! }) start.ArgumentList.Add(a);
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(AllreduceBench).Assembly.Location);
        foreach (var a in Environment.GetCommandLineArgs()[1..]) start.ArgumentList.Add(a);
        start.Environment["OMP_NUM_THREADS"] = "1";
        Console.WriteLine($"allreduce: {mpiexec} -n {ranks} …");
        using (var child = Process.Start(start)!)
        {
            child.WaitForExit();
            if (child.ExitCode != 0) return child.ExitCode;
        }
        set_num_threads(ranks);
        using var single = ProcessGroup.Single();
        string summary = "";
        foreach (var (name, batch) in new[] { ("tiny", tinyBatch), ("vitb", vitbBatch) })
        {
            var (step, _) = TrainingSteps(name, ranks * batch, steps, single);
            Console.WriteLine($"{name} training step, 1 process × {ranks} threads × batch {ranks * batch}: median {F(step, 3)} s; {F(ranks * batch / step, 1)} img/s");
            summary += $" {name}_step_s={F(step, 3)}";
        }
        Console.WriteLine($"allreduce single threads={ranks}{summary}");
        return 0;
    }
}

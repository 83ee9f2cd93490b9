// The benchmark harness: each subcommand measures one thing and ends with one machine-readable line.
//
//   dotnet run -c Release --project tests/MaeDsl.Benchmarks -- <subcommand> [options]
//
//   mask-speedup  the paper's Table 2: MAE ViT-L/16 (decoder depth 8 and 1) against the encoder with mask tokens
//   precision     fp32 vs bf16: ViT-B/16 training step and unmasked encode, with the Amdahl bounds
//   precision-curve  the tiny model's loss curves over 1,000 Fashion-MNIST steps, fp32 vs bf16, two seeds each (a PNG)
//   precision-downstream  fine-tuning and linear probing of one pre-trained tiny encoder, fp32 vs bf16 (top-1)
//   matmul        a large matmul in fp32 and bf16 (which kernel rate each gets)
//   attention     fused scaled-dot-product attention in fp32 / bf16 against the explicit bf16 form (--shapes vit-b|tiny)
//   memory        RSS and live tensors over the tiny model's pre-training steps, under a GC heap limit
//   generator     the source generator's cold run and its run after a one-character edit
//   randaugment   the fine-tuning loader's images/s without and with RandAugment (rand-m9-mstd0.5-inc1)
//   checkpoint    save and load of a ViT-B/16 checkpoint with and without its checksums
//   allreduce     data parallelism under MPICH's mpiexec: Allreduce latency and bandwidth at gradient sizes (tiny, ViT-B),
//                 and training steps of 2 ranks × 1 thread against 1 process × 2 threads (docs/distributed.md)
//
// docs/benchmarks.md has the commands, the figures and what they mean.
using MaeDsl.Benchmarks;

var subcommands = new Dictionary<string, Func<Options, int>>
{
    ["mask-speedup"] = MaskSpeedupBench.Run,
    ["precision"] = PrecisionBench.Run,
    ["precision-curve"] = PrecisionCurveBench.Run,
    ["precision-downstream"] = PrecisionDownstreamBench.Run,
    ["matmul"] = MatmulBench.Run,
    ["attention"] = AttentionBench.Run,
    ["memory"] = MemoryBench.Run,
    ["generator"] = GeneratorBench.Run,
    ["randaugment"] = RandAugmentBench.Run,
    ["checkpoint"] = CheckpointBench.Run,
    ["allreduce"] = AllreduceBench.Run,
};

if (args.Length == 0 || !subcommands.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: MaeDsl.Benchmarks <{string.Join("|", subcommands.Keys)}> [options] (see docs/benchmarks.md)");
    return 2;
}
return run(new Options(args[1..]));

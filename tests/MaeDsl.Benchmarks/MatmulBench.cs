using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `matmul [--size 4096] [--rounds 5] [--threads N]`: one n×n·n×n product in float32 and in bfloat16, interleaved,
/// with the same thread count: GFLOP/s of each (2n³ flops) and the ratio. Shows whether a bf16 matmul runs a bf16
/// kernel (set MKL_VERBOSE=1 / ONEDNN_VERBOSE=1 to see which library and kernel runs), and a fingerprint of the bits of
/// a seeded fp32 product, which tells whether two environments run the same fp32 kernel.
/// </summary>
static class MatmulBench
{
    public static int Run(Options options)
    {
        int n = options.Int("--size", 4096), rounds = options.Int("--rounds", 5), threads = options.Int("--threads", Environment.ProcessorCount);
        set_num_threads(threads);
        Console.WriteLine($"matmul {n}×{n}·{n}×{n}, {threads} threads, {rounds} interleaved rounds; {Machine()}");
        using var a = randn(n, n);
        using var b = randn(n, n);
        using var a16 = a.to(bfloat16);
        using var b16 = b.to(bfloat16);
        var seconds = Interleaved(rounds,
            () => { using var c = a.matmul(b); },
            () => { using var c = a16.matmul(b16); });
        // which fp32 kernel ran shows in the bits: a fingerprint of the fp32 product of seeded inputs
        using var x = randn([256, 1024], generator: new Generator(7));
        using var y = randn([1024, 256], generator: new Generator(8));
        using var product = x.matmul(y);
        var bits = product.data<float>().ToArray().Aggregate(17L, (h, v) => h * 31 + BitConverter.SingleToInt32Bits(v));
        Console.WriteLine($"fp32 product fingerprint {bits:x16} (differs between fp32 kernels)");
        double flops = 2.0 * n * n * n;
        double fp32 = flops / Median(seconds[0]) / 1e9, bf16 = flops / Median(seconds[1]) / 1e9;
        Console.WriteLine($"fp32 {F(Median(seconds[0]), 3)} s  {F(fp32, 0)} GFLOP/s");
        Console.WriteLine($"bf16 {F(Median(seconds[1]), 3)} s  {F(bf16, 0)} GFLOP/s");
        Console.WriteLine($"matmul size={n} threads={threads} fp32_gflops={F(fp32, 0)} bf16_gflops={F(bf16, 0)} ratio={F(bf16 / fp32)}");
        return 0;
    }
}

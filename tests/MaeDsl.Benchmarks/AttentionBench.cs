using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `attention [--rounds 5] [--threads N] [--shapes vit-b|tiny]`: multi-head attention at ViT-B MAE's shapes, batch 8
/// (encoder on 50 tokens and decoder on 197, forward + backward and forward alone; the unmasked encode, forward on 197),
/// or at the quickstart's tiny model's, batch 256 (4 heads of 16; encoder on 13 tokens, decoder on 50, encode on 50):
/// median and minimum per call of libtorch's scaled_dot_product_attention in fp32 and in bf16, against the explicit
/// bf16 form softmax(q·kᵀ·scale)·v (two bf16 batched products, softmax on bf16 with float accumulation) that
/// <see cref="Precision.Bf16"/> uses, and the same with its softmax in float32.
/// </summary>
static class AttentionBench
{
    public static int Run(Options options)
    {
        int rounds = options.Int("--rounds", 5), threads = options.Int("--threads", Environment.ProcessorCount);
        set_num_threads(threads);
        bool tiny = (options.String("--shapes") ?? "vit-b") switch
        {
            "vit-b" => false,
            "tiny" => true,
            var other => throw new ArgumentException($"--shapes '{other}': expected vit-b or tiny"),
        };
        long batch = tiny ? 256 : 8;
        Console.WriteLine($"attention: {(tiny ? "tiny" : "ViT-B")} shapes, batch {batch}, {threads} threads, {rounds} interleaved rounds; {Machine()}");
        (string Name, long Heads, long Tokens, long HeadDim, bool Backward)[] shapes = tiny
            ? [("encoder, 13 tokens", 4, 13, 16, true), ("decoder, 50 tokens", 4, 50, 16, true), ("encode, 50 tokens", 4, 50, 16, false)]
            : [("encoder, 50 tokens", 12, 50, 64, true), ("encoder, 50 tokens", 12, 50, 64, false), ("decoder, 197 tokens", 16, 197, 32, true), ("decoder, 197 tokens", 16, 197, 32, false), ("encode, 197 tokens", 12, 197, 64, false)];
        foreach (var (name, heads, tokens, headDim, backward) in shapes)
        {
            using var scope = NewDisposeScope();
            Tensor Make(ScalarType t) => randn(batch, heads, tokens, headDim, dtype: t).requires_grad_(backward);
            var (q32, k32, v32) = (Make(float32), Make(float32), Make(float32));
            var (q16, k16, v16) = (Make(bfloat16), Make(bfloat16), Make(bfloat16));
            var g32 = randn(batch, heads, tokens, headDim);
            var g16 = g32.to(bfloat16);
            Action Case(Func<Tensor> forward, Tensor grad) => () =>
            {
                using var inner = NewDisposeScope();
                var o = forward();
                if (backward) o.backward([grad]);
            };
            var s = Interleaved(rounds,
                Case(() => nn.functional.scaled_dot_product_attention(q32, k32, v32), g32),
                Case(() => nn.functional.scaled_dot_product_attention(q16, k16, v16), g16),
                Case(() => MixedPrecision.Attention(q16, k16, v16), g16),
                Case(() => Float32Softmax(q16, k16, v16), g16));
            string Ms(List<double> t) => $"{F(Median(t) * 1e3, 1)} ms (min {F(t.Min() * 1e3, 1)})";
            Console.WriteLine($"  {name,-20} {(backward ? "fwd+bwd" : "fwd"),-7}: sdpa fp32 {Ms(s[0])}, sdpa bf16 {Ms(s[1])}, explicit bf16 {Ms(s[2])}, explicit with a float32 softmax {Ms(s[3])}");
        }
        return 0;
    }

    /// <summary>The explicit bf16 form with its softmax in float32 (bf16 scores cast up, probabilities cast down).</summary>
    static Tensor Float32Softmax(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        var scores = q.mul(1.0 / Math.Sqrt(q.shape[^1])).matmul(k.transpose(-2, -1));
        return scores.to(float32).softmax(-1).to(bfloat16).matmul(v).MoveToOuterDisposeScope();
    }
}

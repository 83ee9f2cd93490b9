using MaeDsl.Presets;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `precision [--batch 8] [--rounds 5] [--threads N]`: ViT-B/16 (the official mae_vit_base_patch16) in
/// <see cref="Precision.Fp32"/> and <see cref="Precision.Bf16"/>, one model whose Precision flips between runs,
/// interleaved: a training step (forward + backward + AdamW) and an unmasked encode (eval, no_grad) at the same batch.
/// Then the step's matrix products replayed alone at the model's exact shapes (every linear forward and its two backward
/// products, the patch convolution, scaled-dot-product attention forward and backward) in both formats: their share p
/// of the fp32 time and their own speed-up s give Amdahl's bound 1 / ((1 − p) + p / s) for each ratio.
/// </summary>
static class PrecisionBench
{
    public static int Run(Options options)
    {
        int batch = options.Int("--batch", 8), rounds = options.Int("--rounds", 5), threads = options.Int("--threads", Environment.ProcessorCount);
        set_num_threads(threads);
        var spec = MaeVitBase16.Specification;
        Console.WriteLine($"precision: ViT-B/16 MAE ({spec.ShapeSummary()}), batch {batch}, {threads} threads, {rounds} interleaved rounds; {Machine()}");

        using var model = new MaeVitBase16(seed: 0);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-4, beta1: 0.9, beta2: 0.95, weight_decay: 0.05);
        using var images = randn(batch, 3, 224, 224, generator: new Generator(1));
        float lastLoss32 = 0, lastLoss16 = 0;

        float Train(Precision precision)
        {
            using var scope = NewDisposeScope();
            model.Precision = precision;
            model.train();
            optimizer.zero_grad();
            var output = model.forward(images);
            output.Loss.backward();
            optimizer.step();
            return output.Loss.item<float>();
        }
        void Encode(Precision precision)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.Precision = precision;
            model.eval();
            model.Encode(images);
        }

        var seconds = Interleaved(rounds,
            () => lastLoss32 = Train(Precision.Fp32),
            () => lastLoss16 = Train(Precision.Bf16),
            () => Encode(Precision.Fp32),
            () => Encode(Precision.Bf16));
        var m = seconds.Select(s => Median(s)).ToArray();
        double trainRatio = m[0] / m[1], encodeRatio = m[2] / m[3];
        Console.WriteLine();
        Console.WriteLine($"{"case",-16} {"median s",9} {"img/s",8}");
        string[] names = ["train fp32", "train bf16", "encode fp32", "encode bf16"];
        for (int i = 0; i < 4; i++) Console.WriteLine($"{names[i],-16} {F(m[i], 3),9} {F(batch / m[i]),8}");
        Console.WriteLine($"last losses: fp32 {lastLoss32.ToString("G6", C)}, bf16 {lastLoss16.ToString("G6", C)}");

        // ---- the optimizer step alone (gradients of the last bf16 step in place) ----
        double adamw = Median(Interleaved(rounds, () => optimizer.step())[0]);

        // ---- the matrix products alone ----
        model.Precision = Precision.Fp32;
        var trainOps = Gemms.TrainingStep(spec, batch);
        var encodeOps = Gemms.Encode(spec, batch);
        Console.WriteLine();
        Console.WriteLine($"matrix products replayed alone ({trainOps.Count} kinds for the step, {encodeOps.Count} for the encode), each kind × its count:");
        Console.WriteLine("  training step (linear forward, dX and dW products; attention forward + backward):");
        var (train32, train16) = Gemms.Time(trainOps, rounds);
        Console.WriteLine("  encode (forward only, all 197 tokens):");
        var (encode32, encode16) = Gemms.Time(encodeOps, rounds);
        double trainBound = Bound(m[0], train32, train16, out double pTrain, out double sTrain);
        double encodeBound = Bound(m[2], encode32, encode16, out double pEncode, out double sEncode);
        Console.WriteLine($"  AdamW step alone (fp32 parameters, gradients and state, the same in both): {F(adamw, 3)} s");
        Console.WriteLine($"  train : fp32 {F(train32, 3)} s, bf16 {F(train16, 3)} s; share p = {F(pTrain)} of the fp32 step, s = {F(sTrain)}, Amdahl bound {F(trainBound)}x, measured {F(trainRatio)}x");
        Console.WriteLine($"  encode: fp32 {F(encode32, 3)} s, bf16 {F(encode16, 3)} s; share p = {F(pEncode)} of the fp32 encode, s = {F(sEncode)}, Amdahl bound {F(encodeBound)}x, measured {F(encodeRatio)}x");
        Console.WriteLine($"  (with the products free the bounds would be {F(1 / (1 - Math.Min(pTrain, 0.999)))}x and {F(1 / (1 - Math.Min(pEncode, 0.999)))}x; a measured ratio above its Amdahl bound means bf16 also sped up the rest: GELU and softmax on half-size data)");
        Console.WriteLine($"precision model=vit-b16 batch={batch} threads={threads} train_fp32_img_s={F(batch / m[0])} train_bf16_img_s={F(batch / m[1])} train_ratio={F(trainRatio)} train_bound={F(trainBound)} encode_fp32_img_s={F(batch / m[2])} encode_bf16_img_s={F(batch / m[3])} encode_ratio={F(encodeRatio)} encode_bound={F(encodeBound)}");
        return 0;
    }

    static double Bound(double total32, double matmul32, double matmul16, out double share, out double speedup)
    {
        share = Math.Min(1, matmul32 / total32);
        speedup = matmul32 / matmul16;
        return 1 / ((1 - share) + share / speedup);
    }
}

/// <summary>The matrix products of a ViT MAE step at its exact shapes, each timed alone in fp32 and bf16.</summary>
static class Gemms
{
    /// <summary>One kind of product and how often the step runs it.</summary>
    public sealed record Op(string Name, int Count, Func<ScalarType, Action> Prepare);

    public static List<Op> TrainingStep(MaeSpec spec, int batch)
    {
        var ops = new List<Op>();
        long l = spec.NumPatches, enc = spec.EncoderTokens, dec = 1 + l;
        Linear(ops, "patch_embed", 1, batch * l, spec.PatchDim, spec.EncoderWidth, backward: true, inputGrad: false);
        Block(ops, "encoder", spec.EncoderDepth, batch, enc, spec.EncoderWidth, spec.EncoderHeads, spec.EncoderMlpHidden, backward: true);
        Linear(ops, "decoder_embed", 1, batch * enc, spec.EncoderWidth, spec.DecoderWidth, backward: true);
        Block(ops, "decoder", spec.DecoderDepth, batch, dec, spec.DecoderWidth, spec.DecoderHeads, spec.DecoderMlpHidden, backward: true);
        Linear(ops, "decoder_pred", 1, batch * dec, spec.DecoderWidth, spec.PatchDim, backward: true);
        return ops;
    }

    public static List<Op> Encode(MaeSpec spec, int batch)
    {
        var ops = new List<Op>();
        long l = spec.NumPatches;
        Linear(ops, "patch_embed", 1, batch * l, spec.PatchDim, spec.EncoderWidth, backward: false);
        Block(ops, "encoder", spec.EncoderDepth, batch, 1 + l, spec.EncoderWidth, spec.EncoderHeads, spec.EncoderMlpHidden, backward: false);
        return ops;
    }

    static void Block(List<Op> ops, string where, int depth, long batch, long tokens, long width, long heads, long hidden, bool backward)
    {
        long m = batch * tokens;
        Linear(ops, $"{where}.qkv", depth, m, width, 3 * width, backward);
        Linear(ops, $"{where}.proj", depth, m, width, width, backward);
        Linear(ops, $"{where}.fc1", depth, m, width, hidden, backward);
        Linear(ops, $"{where}.fc2", depth, m, hidden, width, backward);
        long headDim = width / heads;
        ops.Add(new Op($"{where}.sdpa", depth, dtype =>
        {
            var q = randn(batch, heads, tokens, headDim, dtype: dtype).requires_grad_(backward);
            var k = randn(batch, heads, tokens, headDim, dtype: dtype).requires_grad_(backward);
            var v = randn(batch, heads, tokens, headDim, dtype: dtype).requires_grad_(backward);
            var grad = randn(batch, heads, tokens, headDim, dtype: dtype);
            return () =>
            {
                using var inner = NewDisposeScope();
                // as the model computes it: libtorch's fused kernel in fp32, the explicit form in bf16
                var o = dtype == float32 ? nn.functional.scaled_dot_product_attention(q, k, v) : MixedPrecision.Attention(q, k, v);
                if (backward) o.backward([grad]);
            };
        }));
    }

    /// <summary>x [m, in] · Wᵀ + b; backward: dX = dY · W and dW = dYᵀ · X.</summary>
    static void Linear(List<Op> ops, string name, int count, long m, long inFeatures, long outFeatures, bool backward, bool inputGrad = true)
    {
        ops.Add(new Op(name, count, dtype =>
        {
            var x = randn(m, inFeatures, dtype: dtype);
            var w = randn(outFeatures, inFeatures, dtype: dtype);
            var b = randn(outFeatures, dtype: dtype);
            var dy = randn(m, outFeatures, dtype: dtype);
            return () =>
            {
                using (nn.functional.linear(x, w, b)) { }
                if (!backward) return;
                if (inputGrad) using (dy.matmul(w)) { }
                using (dy.t().matmul(x)) { }
            };
        }));
    }

    /// <summary>Seconds of all products of the list in fp32 and in bf16 (each kind: median of its runs, times its count).</summary>
    public static (double Fp32, double Bf16) Time(List<Op> ops, int rounds)
    {
        double total32 = 0, total16 = 0;
        foreach (var op in ops)
        {
            using var scope = NewDisposeScope();
            var run32 = op.Prepare(float32);
            var run16 = op.Prepare(bfloat16);
            var s = Harness.Interleaved(Math.Max(3, rounds), run32, run16);
            double t32 = op.Count * Median(s[0]), t16 = op.Count * Median(s[1]);
            Console.WriteLine($"    {op.Name,-22} ×{op.Count,-3} fp32 {F(t32, 3)} s  bf16 {F(t16, 3)} s  {F(t32 / t16)}x");
            total32 += t32;
            total16 += t16;
        }
        return (total32, total16);
    }
}

using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `mask-speedup [--batch 8] [--rounds 5] [--threads 2] [--precision fp32|bf16]`: the paper's Table 2 for ViT-L/16.
/// The baseline puts mask tokens in the encoder (all 196 patches through 24 blocks) with an 8-block decoder; against it
/// MAE with an 8-block and with a 1-block decoder (encoder on the 49 visible patches). A step is forward + backward.
/// At most two models live at once: the baseline is timed interleaved with the depth-8 MAE, then (the depth-8 model
/// disposed) interleaved again with the depth-1 MAE; each speed-up is the ratio of medians of its own pair.
/// </summary>
static class MaskSpeedupBench
{
    public static int Run(Options options)
    {
        int batch = options.Int("--batch", 8), rounds = options.Int("--rounds", 5), threads = options.Int("--threads", 2);
        var precision = ParsePrecision(options.String("--precision") ?? "fp32");
        set_num_threads(threads);
        Console.WriteLine($"mask-speedup: ViT-L/16, one training step (forward + backward), batch {batch}, {threads} threads, {precision}, median of {rounds} interleaved rounds; {Machine()}");
        using var images = randn(batch, 3, 224, 224, generator: new Generator(1));

        var baselineSpec = MaeVitL16MaskTokensInEncoder.Specification;
        using var baseline = new MaeVitL16MaskTokensInEncoder(seed: 0) { Precision = precision };
        double depth8 = Pair("MAE, decoder depth 8", () => new MaeVitL16Decoder8(seed: 0), MaeVitL16Decoder8.Specification);
        double depth1 = Pair("MAE, decoder depth 1", () => new MaeVitL16Decoder1(seed: 0), MaeVitL16Decoder1.Specification);
        Console.WriteLine("paper (Table 2, ViT-L, 128 TPU-v3 cores): 2.8x with decoder depth 8, 3.7x with depth 1");
        Console.WriteLine($"mask-speedup model=vit-l16 speedup_depth8={F(depth8)} speedup_depth1={F(depth1)}");
        return 0;

        double Pair(string name, Func<MaskedAutoencoder> create, MaeSpec spec)
        {
            using var model = create();
            model.Precision = precision;
            var s = Interleaved(rounds, () => Step(baseline), () => Step(model));
            double b = Median(s[0]), m = Median(s[1]);
            double macRatio = (double)baselineSpec.ForwardMacsPerImage / spec.ForwardMacsPerImage;
            Console.WriteLine($"  encoder w/ [M], decoder depth 8 : {F(b, 2),7} s/step {F(batch / b),6} img/s  ({F(baselineSpec.ForwardMacsPerImage / 1e9)} GMAC/img forward)");
            Console.WriteLine($"  {name,-31}: {F(m, 2),7} s/step {F(batch / m),6} img/s  ({F(spec.ForwardMacsPerImage / 1e9)} GMAC/img forward)");
            Console.WriteLine($"  speed-up {F(b / m)}x measured, {F(macRatio)}x in multiply-accumulates");
            return b / m;
        }

        void Step(MaskedAutoencoder model)
        {
            using var scope = NewDisposeScope();
            model.train();
            model.zero_grad();
            var output = model.forward(images);
            output.Loss.backward();
        }
    }

    public static Precision ParsePrecision(string text) => text.ToLowerInvariant() switch
    {
        "fp32" => Precision.Fp32,
        "bf16" => Precision.Bf16,
        _ => throw new ArgumentException($"--precision takes fp32 or bf16, not '{text}'"),
    };
}

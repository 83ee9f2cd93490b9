using MaeDsl.Presets;
using Xunit.Abstractions;

namespace MaeDsl.Tests.Model;

/// <summary>
/// <see cref="Precision.Bf16"/> against <see cref="Precision.Fp32"/> on the same weights and masking noise.
/// Tolerances (bf16 keeps 8 significant bits, a relative step of 2⁻⁸ ≈ 0.4%; the errors of 12 + 8 blocks of
/// bf16 products add up, the float32 residual stream and LayerNorm keep them from growing):
/// loss within 0.1% relative; pred, latent, Encode features and logits within a relative RMS error (‖Δ‖ / ‖fp32‖) of 2%;
/// training gradients float32, finite and with a cosine similarity of at least 0.99 to the float32 gradients, parameter
/// by parameter for the large ones. Measured on ViT-B/16 (seed 0, batch 2) when written: loss 2e-5, pred 0.6%, latent 0.5%,
/// Encode 0.5%, lowest gradient cosine 0.99995; tiny classifier logits 0.2% (the tests print the figures).
/// </summary>
// Alone (no parallel test changes the torch thread count under it, and these models are large).
[Collection(MaeDsl.Tests.FineTune.TrainingRunsCollection.Name)]
public class PrecisionTests(ITestOutputHelper output)
{
    const double LossTolerance = 1e-3;        // relative
    const double TensorTolerance = 0.02;      // relative RMS error
    const double GradientCosine = 0.99;

    static double RelativeRms(Tensor actual, Tensor expected)
    {
        using var diff = actual.to(float64) - expected.to(float64);
        return diff.norm().item<double>() / expected.to(float64).norm().item<double>();
    }

    static double Cosine(Tensor a, Tensor b)
    {
        using var x = a.to(float64).flatten();
        using var y = b.to(float64).flatten();
        return (x.dot(y) / (x.norm() * y.norm() + 1e-30)).item<double>();
    }

    [Fact]
    public void Default_is_fp32_and_switching_back_gives_the_same_bits()
    {
        using var model = new MaeTinyOfficial(seed: 3);
        Assert.Equal(Precision.Fp32, model.Precision);
        using var images = randn(2, 3, 32, 32, generator: new Generator(5));
        using var noise = rand(2, 16, generator: new Generator(6));
        using var before = model.forward(images, noise);
        model.Precision = Precision.Bf16;
        var layers = model.modules().Where(m => m is MaeDsl.Block or MaeDsl.PatchEmbed).ToList();
        Assert.Equal(1 + 2 + 1, layers.Count);               // patch_embed, 2 encoder blocks, 1 decoder block
        Assert.All(layers.OfType<MaeDsl.Block>(), b => Assert.Equal(Precision.Bf16, b.Precision));
        Assert.All(layers.OfType<MaeDsl.PatchEmbed>(), p => Assert.Equal(Precision.Bf16, p.Precision));
        using (var mixed = model.forward(images, noise))
        {
            Assert.Equal(ScalarType.Float32, mixed.Pred.dtype);
            Assert.False(mixed.Pred.eq(before.Pred).all().item<bool>());      // the bf16 path did run
        }
        model.Precision = Precision.Fp32;
        using var after = model.forward(images, noise);
        Assert.True(before.Pred.eq(after.Pred).all().item<bool>());
        Assert.True(before.Latent.eq(after.Latent).all().item<bool>());
        Assert.Equal(BitConverter.SingleToInt32Bits(before.Loss.item<float>()), BitConverter.SingleToInt32Bits(after.Loss.item<float>()));
    }

    [Fact]
    public void Bf16_forward_matches_fp32_within_tolerance_on_vit_base()
    {
        using var model = new MaeVitBase16(seed: 0);
        model.eval();
        using var images = randn(2, 3, 224, 224, generator: new Generator(1));
        using var noise = rand(2, 196, generator: new Generator(2));
        using var _ = no_grad();
        using var fp32 = model.forward(images, noise);
        using var features32 = model.Encode(images);
        model.Precision = Precision.Bf16;
        using var bf16 = model.forward(images, noise);
        using var features16 = model.Encode(images);

        Assert.Equal(ScalarType.Float32, bf16.Loss.dtype);
        Assert.Equal(ScalarType.Float32, bf16.Pred.dtype);
        Assert.Equal(ScalarType.Float32, bf16.Latent.dtype);
        Assert.Equal(ScalarType.Float32, features16.dtype);
        Assert.True(bf16.Mask.eq(fp32.Mask).all().item<bool>());
        double loss32 = fp32.Loss.item<float>(), loss16 = bf16.Loss.item<float>();
        double lossError = Math.Abs(loss16 - loss32) / Math.Abs(loss32);
        double predError = RelativeRms(bf16.Pred, fp32.Pred), latentError = RelativeRms(bf16.Latent, fp32.Latent);
        double featureError = RelativeRms(features16, features32);
        output.WriteLine($"loss fp32 {loss32:G7} bf16 {loss16:G7} (relative {lossError:E2}); pred {predError:E2}, latent {latentError:E2}, Encode {featureError:E2} relative RMS");
        Assert.True(lossError < LossTolerance, $"loss: relative error {lossError}");
        Assert.True(predError < TensorTolerance, $"pred: relative RMS error {predError}");
        Assert.True(latentError < TensorTolerance, $"latent: relative RMS error {latentError}");
        Assert.True(featureError < TensorTolerance, $"Encode: relative RMS error {featureError}");
    }

    [Fact]
    public void Bf16_training_step_gives_fp32_finite_gradients_close_to_fp32_ones()
    {
        using var model = new MaeVitBase16(seed: 0);
        model.train();
        using var images = randn(2, 3, 224, 224, generator: new Generator(1));
        using var noise = rand(2, 196, generator: new Generator(2));
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();

        Dictionary<string, Tensor> Gradients(Precision precision)
        {
            model.Precision = precision;
            model.zero_grad();
            using (var result = model.forward(images, noise)) result.Loss.backward();
            return trainable.ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone());
        }

        var grads32 = Gradients(Precision.Fp32);
        var grads16 = Gradients(Precision.Bf16);
        double worst = 1;
        string worstName = "";
        foreach (var (name, parameter) in trainable)
        {
            var g = grads16[name];
            Assert.Equal(ScalarType.Float32, parameter.dtype);
            Assert.Equal(ScalarType.Float32, g.dtype);
            Assert.True(g.isfinite().all().item<bool>(), $"{name}: non-finite gradient");
            if (parameter.numel() < 1024) continue;          // tiny vectors (LayerNorm, tokens): covered by the finite check
            double cosine = Cosine(g, grads32[name]);
            if (cosine < worst) (worst, worstName) = (cosine, name);
        }
        output.WriteLine($"lowest gradient cosine bf16 vs fp32: {worst:F5} ({worstName})");
        Assert.True(worst >= GradientCosine, $"{worstName}: gradient cosine {worst}");

        // AdamW on the float32 parameters keeps float32 state and float32 parameters.
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-4);
        optimizer.step();
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        foreach (var t in grads32.Values.Concat(grads16.Values)) t.Dispose();
    }

    [Fact]
    public void Bf16_encoder_with_mask_tokens_matches_fp32()
    {
        using var model = new MaeTinyMaskTokensInEncoder(seed: 3);
        using var images = randn(2, 3, 32, 32, generator: new Generator(5));
        using var noise = rand(2, 16, generator: new Generator(6));
        using var _ = no_grad();
        using var fp32 = model.forward(images, noise);
        model.Precision = Precision.Bf16;
        using var bf16 = model.forward(images, noise);
        Assert.Equal(ScalarType.Float32, bf16.Latent.dtype);
        Assert.Equal(fp32.Latent.shape, bf16.Latent.shape);                 // [2, 1 + 16, 64]: every patch in the encoder
        double lossError = Math.Abs(bf16.Loss.item<float>() - fp32.Loss.item<float>()) / Math.Abs(fp32.Loss.item<float>());
        Assert.True(lossError < LossTolerance, $"loss: relative error {lossError}");
        Assert.True(RelativeRms(bf16.Pred, fp32.Pred) < TensorTolerance);
        Assert.True(RelativeRms(bf16.Latent, fp32.Latent) < TensorTolerance);
    }

    [Fact]
    public void Bf16_classifier_gives_fp32_logits_close_to_fp32()
    {
        using var mae = new MaeTinyOfficial(seed: 3);
        using var classifier = mae.CreateClassifier(numClasses: 10, seed: 4);
        classifier.eval();
        using var images = randn(4, 3, 32, 32, generator: new Generator(5));
        using var _ = no_grad();
        using var logits32 = classifier.forward(images);
        classifier.Precision = Precision.Bf16;
        using var logits16 = classifier.forward(images);
        Assert.Equal(ScalarType.Float32, logits16.dtype);
        double error = RelativeRms(logits16, logits32);
        output.WriteLine($"classifier logits relative RMS {error:E2}");
        Assert.True(error < TensorTolerance, $"logits: relative RMS error {error}");
        classifier.Precision = Precision.Fp32;
        using var again = classifier.forward(images);
        Assert.True(again.eq(logits32).all().item<bool>());
    }
}

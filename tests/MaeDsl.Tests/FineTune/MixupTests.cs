using MaeDsl.Data;
using MaeDsl.Training;

namespace MaeDsl.Tests.FineTune;

public class MixupTests
{
    public MixupTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    const int Classes = 10;
    const double Smoothing = 0.1;

    /// <summary>The expected soft targets, computed element by element: λ·smooth(y) + (1−λ)·smooth(flip(y)).</summary>
    static double[,] ExpectedTargets(long[] labels, double lambda)
    {
        int b = labels.Length;
        double off = Smoothing / Classes, on = 1 - Smoothing + off;
        var t = new double[b, Classes];
        for (int i = 0; i < b; i++)
            for (int c = 0; c < Classes; c++)
            {
                double a = labels[i] == c ? on : off;
                double f = labels[b - 1 - i] == c ? on : off;
                t[i, c] = lambda * a + (1 - lambda) * f;
            }
        return t;
    }

    static void AssertTargets(Tensor targets, long[] labels, double lambda)
    {
        var expected = ExpectedTargets(labels, lambda);
        var got = targets.to(torch.float64).data<double>().ToArray();
        for (int i = 0; i < labels.Length; i++)
            for (int c = 0; c < Classes; c++)
                Assert.True(Math.Abs(expected[i, c] - got[i * Classes + c]) < 1e-6, $"target[{i},{c}] = {got[i * Classes + c]}, expected {expected[i, c]} (λ = {lambda})");
    }

    /// <summary>Image i is filled with the value i, so every pixel says which image it came from.</summary>
    static Tensor IndexImages(int b, int h, int w) =>
        torch.arange(b, dtype: torch.float32).view(b, 1, 1, 1).expand(b, 3, h, w).contiguous();

    [Fact]
    public void CutMixTargetsUseTheLambdaOfTheBoxActuallyPasted()
    {
        long[] labels = { 3, 1, 4, 1, 5, 9, 2, 6 };
        var y = torch.tensor(labels);
        int b = labels.Length, h = 12, w = 10;
        var images = IndexImages(b, h, w);
        int clipped = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var mixup = new Mixup(Classes, mixupAlpha: 0.8, cutmixAlpha: 1.0, switchProb: 1.0, labelSmoothing: Smoothing, seed: seed);
            var (mixed, targets, draw) = mixup.Apply(images, y);
            Assert.True(draw.UsedCutmix);
            var box = draw.Box!.Value;
            // Pixels that came from the flipped batch: image i shows value B−1−i there.
            var fromFlip = mixed.eq(torch.arange(b - 1, -1, -1, dtype: torch.float32).view(b, 1, 1, 1)) & mixed.ne(images);
            long pasted = fromFlip[0, 0].sum().item<long>();
            Assert.Equal(box.Area, pasted);
            for (int i = 0; i < b; i++) Assert.Equal(pasted, fromFlip[i, 0].sum().item<long>());
            double lambda = 1.0 - pasted / (double)(h * w);
            Assert.Equal(lambda, draw.Lambda, 12);
            AssertTargets(targets, labels, lambda);
            // A box that reaches past the border is clipped: its area is less than the nominal (side × side).
            if (box.Top == 0 || box.Left == 0 || box.Bottom == h || box.Right == w) clipped++;
        }
        Assert.True(clipped > 0, "no draw produced a clipped box in 40 seeds, so the correction was not exercised");
        Assert.True(images.eq(IndexImages(b, h, w)).all().item<bool>(), "Apply must not modify its input");
    }

    [Fact]
    public void ClippedBoxCorrectsLambdaToItsArea()
    {
        // rand_bbox: side int(H·√(1−λ)); for λ = 0.19 on 10×10: √0.81 = 0.9 → 9×9 (81 px) nominally. Any centre
        // away from the middle clips the box; λ must be 1 − clipped area / 100, never 0.19 unless the box is whole.
        for (int seed = 0; seed < 20; seed++)
        {
            var (box, lambda) = Mixup.CutmixBoxAndLambda(10, 10, 0.19, new Random(seed));
            Assert.InRange(box.Top, 0, 10);
            Assert.InRange(box.Bottom, box.Top, 10);
            Assert.InRange(box.Left, 0, 10);
            Assert.InRange(box.Right, box.Left, 10);
            Assert.True(box.Bottom - box.Top <= 8 && box.Right - box.Left <= 8, $"box {box}: at most 2·(9/2) = 8 rows/cols");
            Assert.Equal(1.0 - box.Area / 100.0, lambda, 12);
        }
    }

    [Fact]
    public void MixupBlendsWithTheFlippedBatchAndMixesTheTargets()
    {
        long[] labels = { 0, 1, 2, 3, 4, 5 };
        var y = torch.tensor(labels);
        var images = torch.randn(6, 1, 4, 4, generator: new torch.Generator(1));
        var mixup = new Mixup(Classes, mixupAlpha: 0.8, cutmixAlpha: 1.0, switchProb: 0.0, labelSmoothing: Smoothing, seed: 7);
        var (mixed, targets, draw) = mixup.Apply(images, y);
        Assert.False(draw.UsedCutmix);
        Assert.InRange(draw.Lambda, 0.0, 1.0);
        var expected = images * draw.Lambda + images.flip(0) * (1 - draw.Lambda);
        Assert.True(mixed.allclose(expected, rtol: 1e-5, atol: 1e-6));
        AssertTargets(targets, labels, draw.Lambda);
        var loss = SoftTargetCrossEntropy.Loss(torch.zeros(6, Classes), targets).item<float>();
        Assert.True(Math.Abs(Math.Log(Classes) - loss) < 1e-5, $"loss {loss}"); // uniform logits: −Σ t·log(1/C) = log C for any targets summing to 1
    }

    [Fact]
    public void NoMixingStillSmoothsLabels()
    {
        var mixup = new Mixup(Classes, prob: 0.0, labelSmoothing: Smoothing, seed: 1);
        long[] labels = { 2, 7 };
        var (mixed, targets, draw) = mixup.Apply(torch.ones(2, 1, 3, 3), torch.tensor(labels));
        Assert.Equal(1.0, draw.Lambda);
        AssertTargets(targets, labels, 1.0);
        Assert.True(mixed.eq(1).all().item<bool>());
    }

    [Fact]
    public void BetaDrawsHaveTheRightMean()
    {
        // Beta(α, α) has mean 1/2 and variance 1/(4(2α+1)): 0.8 → 0.0962, 1.0 → 1/12.
        foreach (var alpha in new[] { 0.8, 1.0 })
        {
            var rng = new Random(3);
            var xs = Enumerable.Range(0, 20000).Select(_ => Mixup.SampleBeta(rng, alpha)).ToArray();
            double mean = xs.Average(), variance = xs.Select(x => (x - mean) * (x - mean)).Average();
            Assert.InRange(mean, 0.49, 0.51);
            Assert.InRange(variance, 1 / (4 * (2 * alpha + 1)) - 0.005, 1 / (4 * (2 * alpha + 1)) + 0.005);
            Assert.All(xs, x => Assert.InRange(x, 0.0, 1.0));
        }
    }

    [Fact]
    public void OddBatchIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new Mixup(Classes).Apply(torch.zeros(3, 1, 4, 4), torch.zeros(3, dtype: torch.int64)));
        Assert.Contains("even", e.Message);
    }

    [Fact]
    public void SoftTargetCrossEntropyMatchesTheFormula()
    {
        var logits = torch.tensor(new float[] { 1, 2, 3, 0, 0, 0 }).reshape(2, 3);
        var targets = torch.tensor(new float[] { 0.2f, 0.3f, 0.5f, 1, 0, 0 }).reshape(2, 3);
        double lse = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3));
        double row0 = -(0.2 * (1 - lse) + 0.3 * (2 - lse) + 0.5 * (3 - lse));
        double row1 = Math.Log(3);
        Assert.Equal((row0 + row1) / 2, SoftTargetCrossEntropy.Loss(logits, targets).item<float>(), 5);
    }
}

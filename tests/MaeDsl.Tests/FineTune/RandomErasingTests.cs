using MaeDsl.Data;
using MaeDsl.Training;

namespace MaeDsl.Tests.FineTune;

public class RandomErasingTests
{
    public RandomErasingTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    [Fact]
    public void EveryImageGetsOneRectangleOfNoiseWhenProbabilityIsOne()
    {
        int b = 16, h = 20, w = 24;
        var images = torch.full(new long[] { b, 3, h, w }, 100f);
        var erased = new RandomErasing(probability: 1.0, seed: 5).Apply(images);
        Assert.True(images.eq(100f).all().item<bool>(), "Apply must not modify its input");
        int withBox = 0;
        for (int i = 0; i < b; i++)
        {
            var changed = erased[i].ne(100f);
            var anyChannel = changed.any(0);
            long n = anyChannel.sum().item<long>();
            if (n == 0) continue; // all 10 attempts may fail to fit, as in timm
            withBox++;
            var rows = anyChannel.any(1).nonzero().flatten().data<long>().ToArray();
            var cols = anyChannel.any(0).nonzero().flatten().data<long>().ToArray();
            long boxH = rows.Max() - rows.Min() + 1, boxW = cols.Max() - cols.Min() + 1;
            Assert.Equal(boxH * boxW, n);                        // one filled rectangle
            Assert.Equal(3 * n, changed.sum().item<long>());     // every channel erased (per-pixel noise)
            Assert.InRange(n / (double)(h * w), 0.01, 0.40);     // area in [0.02, 1/3] up to rounding of the sides
            var noise = erased[i].masked_select(changed);
            Assert.InRange(noise.abs().max().item<float>(), 0f, 10f); // standard-normal values
        }
        Assert.True(withBox >= b / 2, $"only {withBox} of {b} images were erased with probability 1");
    }

    [Fact]
    public void ProbabilityZeroLeavesImagesAlone()
    {
        var images = torch.randn(8, 1, 10, 10);
        Assert.True(new RandomErasing(probability: 0.0).Apply(images).eq(images).all().item<bool>());
    }

    [Fact]
    public void AboutAQuarterOfImagesAreErasedByDefault()
    {
        var images = torch.full(new long[] { 400, 1, 16, 16 }, 100f);
        var erased = new RandomErasing(seed: 2).Apply(images);
        long count = erased.ne(100f).flatten(1).any(1).sum().item<long>();
        Assert.InRange(count, 60, 140); // 0.25 × 400 = 100
    }
}

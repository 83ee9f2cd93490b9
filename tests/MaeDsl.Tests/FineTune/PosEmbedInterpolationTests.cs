namespace MaeDsl.Tests.FineTune;

public class PosEmbedInterpolationTests
{
    public PosEmbedInterpolationTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    [Fact]
    public void SameGridIsTheIdentity()
    {
        var pos = torch.randn(1, 1 + 16, 8);
        var same = PosEmbedInterpolation.Interpolate(pos, 4);
        Assert.True(same.eq(pos).all().item<bool>());
        var dict = new Dictionary<string, Tensor> { ["pos_embed"] = pos };
        Assert.False(PosEmbedInterpolation.InterpolateInStateDict(dict, 4));
        Assert.Same(pos, dict["pos_embed"]);
    }

    [Fact]
    public void LargerGridKeepsTheClsEntryAndResizesThePatches()
    {
        var pos = torch.randn(1, 1 + 16, 8);
        var resized = PosEmbedInterpolation.Interpolate(pos, 7);
        Assert.Equal(new long[] { 1, 1 + 49, 8 }, resized.shape);
        Assert.True(resized[0, 0].eq(pos[0, 0]).all().item<bool>(), "the cls entry must be kept unchanged");

        // Bicubic weights sum to one: a constant channel stays constant; the grid is laid out row-major.
        var constant = torch.cat(new[] { torch.zeros(1, 1, 2), torch.full(new long[] { 1, 16, 2 }, 0.25f) }, 1);
        var c = PosEmbedInterpolation.Interpolate(constant, 6);
        Assert.True(c.narrow(1, 1, 36).sub(0.25f).abs().max().item<float>() < 1e-6f);

        // A pattern that varies along rows only keeps varying along rows only after resizing.
        var rowsOnly = torch.arange(4, dtype: torch.float32).view(4, 1).expand(4, 4).reshape(1, 16, 1);
        var withCls = torch.cat(new[] { torch.full(new long[] { 1, 1, 1 }, 9f), rowsOnly }, 1);
        var r = PosEmbedInterpolation.Interpolate(withCls, 8).narrow(1, 1, 64).reshape(8, 8);
        Assert.True(r.sub(r[.., 0..1]).abs().max().item<float>() < 1e-5f, "columns of a row must stay equal");
        Assert.True(r[7, 0].item<float>() > r[0, 0].item<float>());
    }

    [Fact]
    public void NonSquareGridIsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => PosEmbedInterpolation.Interpolate(torch.zeros(1, 1 + 15, 4), 4));
        Assert.Contains("15", e.Message);
    }
}

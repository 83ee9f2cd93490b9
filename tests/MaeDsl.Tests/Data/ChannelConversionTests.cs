using MaeDsl.Data;

namespace MaeDsl.Tests.Data;

public class ChannelConversionTests
{
    [Fact]
    public void Grey_to_rgb_repeats_rgb_to_grey_is_luma_others_are_refused()
    {
        var grey = new FloatImage(1, 1, 2, [0.25f, 0.75f]);
        var rgb = ChannelConversion.Convert(grey, 3, "test");
        Assert.Equal(new[] { 0.25f, 0.75f, 0.25f, 0.75f, 0.25f, 0.75f }, rgb.Data);
        Assert.Equal(new[] { 0.25f, 0.75f }, ChannelConversion.Convert(rgb, 1, "test").Data);   // exact for grey
        var colour = new FloatImage(3, 1, 1, [1f, 0.5f, 0f]);
        Assert.Equal(0.299 + 0.587 * 0.5, ChannelConversion.Convert(colour, 1, "test").Data[0], 6);
        var ex = Assert.Throws<InvalidDataException>(() => ChannelConversion.Convert(colour, 2, "item 7"));
        Assert.Contains("item 7", ex.Message);
    }

    [Fact]
    public void Fashion_mnist_as_rgb_keeps_its_statistics_and_batches_as_three_channels()
    {
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        var rgb = new ChannelConvertedDataset(SubsetDataset.Take(FashionMnist.Load(train: false), 64), 3);
        var norm = Normalization.For(rgb);
        Assert.Equal(new[] { FashionMnist.Mean, FashionMnist.Mean, FashionMnist.Mean }, norm.Mean);
        var loader = new BatchLoader(rgb, 16, Transforms.Pretrain(56, norm), seed: 1);
        using var batch = loader.Epoch(0).First();
        Assert.Equal(new long[] { 16, 3, 56, 56 }, batch.Images.shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChannelConvertedDataset(new SyntheticDataset(4, channels: 2), 3));
        Assert.Equal(Normalization.ImageNet, Normalization.For(new SyntheticDataset(4, channels: 3)));
    }
}

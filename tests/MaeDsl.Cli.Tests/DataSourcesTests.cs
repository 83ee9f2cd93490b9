// DataSources on a small generated ImageFolder (train + sibling val) and on Fashion-MNIST (grey, and as RGB).
using MaeDsl.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Cli.Tests;

public class DataSourcesTests
{
    /// <summary>root/{train,val}/{cats,dogs}/*.png: 40×30 RGB pictures, <paramref name="perClass"/> per class in train, 2 in val.</summary>
    internal static string MakeImageFolder(string dir, int perClass)
    {
        string root = Path.Combine(dir, "data");
        foreach (var (split, n) in new[] { ("train", perClass), ("val", 2) })
            foreach (var (cls, c) in new[] { ("cats", 0), ("dogs", 1) })
            {
                string folder = Path.Combine(root, split, cls);
                Directory.CreateDirectory(folder);
                for (int i = 0; i < n; i++)
                {
                    using var image = new Image<Rgb24>(40, 30);
                    for (int y = 0; y < 30; y++)
                        for (int x = 0; x < 40; x++)
                            image[x, y] = new Rgb24((byte)(c * 200 + i), (byte)(6 * x), (byte)(8 * y));
                    image.SaveAsPng(Path.Combine(folder, $"{i:D3}.png"));
                }
            }
        return Path.Combine(root, "train");
    }

    [Fact]
    public void An_image_folder_with_a_val_sibling_opens_for_the_models_size_and_channels()
    {
        using var dir = new TempDir();
        string train = MakeImageFolder(dir.Path, perClass: 3);
        var data = DataSources.Open(train, null, imageSize: 28, modelChannels: 3);
        Assert.Equal(6, data.Train.Count);
        Assert.NotNull(data.Test);
        Assert.Equal(4, data.Test!.Count);
        Assert.Equal(new[] { "cats", "dogs" }, data.Train.ClassNames);
        Assert.Equal(3, data.Train.Channels);
        Assert.Equal(0.875, data.EvalCropPct); // pictures of other sizes: resize to 28 / 0.875, centre-crop
        Assert.Same(Normalization.ImageNet, data.Normalization);
        Assert.StartsWith($"ImageFolder {Path.GetFullPath(train)} (6 images, held-out 4 in ", data.Description);

        var batches = data.PretrainBatches(batchSize: 4, seed: 0);
        foreach (var batch in batches.Batches(0))
        {
            Assert.Equal(new long[] { 4, 3, 28, 28 }, batch.shape);
            break;
        }
        var (shape, labels) = First(data.EvalBatches(data.Test, batchSize: 8));
        Assert.Equal(new long[] { 4, 3, 28, 28 }, shape);
        Assert.Equal(new long[] { 0, 0, 1, 1 }, labels);
    }

    [Fact]
    public void An_image_folder_as_grey_for_a_one_channel_model_without_held_out_split()
    {
        using var dir = new TempDir();
        string train = MakeImageFolder(dir.Path, perClass: 2);
        var data = DataSources.Open(Path.Combine(train, "..", "val"), null, imageSize: 16, modelChannels: 1);
        Assert.Null(data.Test); // "val" is not a "train" root: no sibling
        Assert.Equal(1, data.Train.Channels);
        Assert.Equal(new long[] { 4, 1, 16, 16 }, First(data.EvalBatches(data.Train, batchSize: 8)).Shape);
    }

    [Fact]
    public void A_missing_folder_is_an_error_naming_both_choices()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => DataSources.Open("/nonexistent/maedsl", null, 28, 1));
        Assert.Contains("neither 'fashion-mnist' nor an existing ImageFolder root", e.Message);
    }

    [Fact]
    public void Fashion_mnist_opens_grey_at_its_own_size_and_as_rgb_for_a_three_channel_model()
    {
        var grey = DataSources.Open("fashion-mnist", null, imageSize: 28, modelChannels: 1);
        Assert.Equal(60000, grey.Train.Count);
        Assert.Equal(10000, grey.Test!.Count);
        Assert.Equal(1.0, grey.EvalCropPct);
        Assert.Same(Normalization.FashionMnist, grey.Normalization);
        Assert.DoesNotContain("channels", grey.Description);
        var (shape, labels) = First(grey.EvalBatches(grey.Test, batchSize: 5, limit: 5));
        Assert.Equal(new long[] { 5, 1, 28, 28 }, shape);
        Assert.Equal(new long[] { 9, 2, 1, 1, 6 }, labels); // t10k's first labels

        var rgb = DataSources.Open("FASHION-MNIST", null, imageSize: 32, modelChannels: 3);
        Assert.Equal(3, rgb.Train.Channels);
        Assert.Equal(0.875, rgb.EvalCropPct);
        Assert.Contains("grey → 3 channels", rgb.Description);
        Assert.Equal(new long[] { 2, 3, 32, 32 }, First(rgb.EvalBatches(rgb.Test!, batchSize: 2, limit: 2)).Shape);
    }

    /// <summary>The first batch's image shape and labels, read while the batch is alive (the enumeration disposes it).</summary>
    static (long[] Shape, long[] Labels) First(IEnumerable<(TorchSharp.torch.Tensor Images, TorchSharp.torch.Tensor Labels)> batches)
    {
        foreach (var (images, labels) in batches)
            return (images.shape, labels.data<long>().ToArray());
        throw new InvalidOperationException("no batch");
    }
}

using MaeDsl.Data;
using MaeDsl.Tests.Data;
using MaeDsl.Visualization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Tests.Visualization;

public class ReconstructionGridTests
{
    public ReconstructionGridTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    const int N = 3, C = 1, H = 28, P = 7, L = 16, D = P * P * C;
    static readonly float[] Mean = [FashionMnist.Mean], Std = [FashionMnist.Std];

    // Normalised images from the synthetic set, a prediction, and a mask removing 75% of the patches.
    static (Tensor Images, Tensor Pred, Tensor Mask) Inputs(int channels = C, long seed = 1)
    {
        var ds = new SyntheticDataset(N, channels, H, H, 4, seed);
        var norm = new Normalize(channels == 1 ? Mean : Normalization.ImageNet.Mean, channels == 1 ? Std : Normalization.ImageNet.Std);
        var data = Enumerable.Range(0, N).SelectMany(i => norm.Apply(ds.Get(i).Image, new Random(0)).Data).ToArray();
        var images = torch.tensor(data, [N, channels, H, H]);
        var pred = torch.rand([N, L, P * P * channels], generator: new torch.Generator(5)) * 2 - 1;
        var maskData = new float[N * L];
        for (int i = 0; i < N; i++) for (int j = 0; j < L; j++) maskData[i * L + j] = (j * 7 + i) % 4 == 0 ? 0 : 1;
        return (images, pred, torch.tensor(maskData, [N, L]));
    }

    [Fact]
    public void Grid_has_four_upscaled_columns_grey_removed_patches_and_pasted_visible_patches()
    {
        using var dir = new TempDir();
        var (images, pred, mask) = Inputs();
        string path = ReconstructionGrid.Save(Path.Combine(dir.Path, "recon.png"), images, pred, mask, P, C, Mean, Std, normPix: false);
        Assert.Equal(Path.Combine(dir.Path, "recon.png"), path);
        Assert.Single(Directory.GetFiles(dir.Path));   // no temporary file left behind

        using var png = Image.Load<Rgb24>(path);
        int scale = ReconstructionGrid.AutoScale(H), tile = H * scale, sep = ReconstructionGrid.Separator;
        Assert.Equal(4, scale);
        Assert.Equal(4 * tile + 5 * sep, png.Width);
        Assert.Equal(N * tile + (N + 1) * sep, png.Height);
        Assert.Equal(ReconstructionGrid.SeparatorColor, png[0, 0]);
        Assert.Equal(ReconstructionGrid.SeparatorColor, png[sep + tile, sep + 5]);   // between columns 0 and 1

        var rows = ReconstructionGrid.Compute(images, pred, mask, P, C, Mean, Std, normPix: false);
        var maskValues = mask.data<float>().ToArray();
        byte grey = ReconstructionGrid.ToByte(ReconstructionGrid.Grey);
        int greyPixels = 0, pastedPixels = 0;
        for (int i = 0; i < N; i++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < H; x++)
                {
                    bool removed = maskValues[i * L + (y / P) * (H / P) + x / P] == 1;
                    // the centre of the upscaled pixel in each column
                    Rgb24 At(int column) => png[sep + column * (tile + sep) + x * scale + scale / 2, sep + i * (tile + sep) + y * scale + scale / 2];
                    byte original = ReconstructionGrid.ToByte(rows[i].Original[0, y, x]);
                    byte reconstruction = ReconstructionGrid.ToByte(rows[i].Reconstruction[0, y, x]);
                    Assert.Equal(original, At(0).R);
                    Assert.Equal(reconstruction, At(2).R);
                    if (removed)
                    {
                        Assert.Equal(new Rgb24(grey, grey, grey), At(1));
                        Assert.Equal(reconstruction, At(3).R);
                        greyPixels++;
                    }
                    else
                    {
                        Assert.Equal(original, At(1).R);
                        Assert.Equal(original, At(3).R);
                        pastedPixels++;
                    }
                }
        Assert.True(greyPixels > 0 && pastedPixels > 0);

        // the original column is the un-normalised input
        var raw = new SyntheticDataset(N, C, H, H, 4, 1).Get(2).Image;
        Assert.Equal(raw[0, 13, 9], rows[2].Original[0, 13, 9], 5);
        // the reconstruction is the un-normalised, unpatchified prediction: patch j, element (py·p + px)·C + c
        float predValue = pred[1, 5, (3 * P + 2) * C].item<float>();
        Assert.Equal(Math.Clamp(predValue * Std[0] + Mean[0], 0, 1), rows[1].Reconstruction[0, (5 / 4) * P + 3, (5 % 4) * P + 2], 5);
    }

    [Fact]
    public void NormPix_prediction_is_restored_with_each_patch_mean_and_unbiased_variance()
    {
        const int channels = 3;
        var (images, pred, mask) = Inputs(channels, seed: 3);
        pred = pred * 0.1;   // keep restored values inside [0, 1] so nothing is clipped
        var mean = Normalization.ImageNet.Mean; var std = Normalization.ImageNet.Std;
        var rows = ReconstructionGrid.Compute(images, pred, mask, P, channels, mean, std, normPix: true);
        var x = images.data<float>().ToArray();
        var y = pred.data<float>().ToArray();
        int checkedValues = 0;
        foreach (var (i, patch) in new[] { (0, 0), (1, 6), (2, 15) })
        {
            int gy = patch / (H / P), gx = patch % (H / P);
            // the patch's p²C values of the normalised input, gathered by hand
            var values = new List<double>();
            for (int py = 0; py < P; py++) for (int px = 0; px < P; px++) for (int c = 0; c < channels; c++)
                values.Add(x[((i * channels + c) * H + gy * P + py) * H + gx * P + px]);
            double m = values.Average();
            double v = values.Sum(t => (t - m) * (t - m)) / (values.Count - 1);   // unbiased
            for (int py = 0; py < P; py++) for (int px = 0; px < P; px++) for (int c = 0; c < channels; c++)
            {
                double p = y[(i * L + patch) * (P * P * channels) + (py * P + px) * channels + c];
                double restored = p * Math.Sqrt(v + 1e-6) + m;
                double pixel = restored * std[c] + mean[c];
                Assert.InRange(pixel, 0, 1);
                Assert.Equal(pixel, rows[i].Reconstruction[c, gy * P + py, gx * P + px], 4);
                checkedValues++;
            }
        }
        Assert.Equal(3 * P * P * channels, checkedValues);
        // without normPix the same prediction is read as pixels directly: different pictures
        var plain = ReconstructionGrid.Compute(images, pred, mask, P, channels, mean, std, normPix: false);
        Assert.NotEqual(plain[0].Reconstruction.Data, rows[0].Reconstruction.Data);
    }

    [Fact]
    public void NormPix_grid_says_so_in_the_file_name_and_caption()
    {
        using var dir = new TempDir();
        var (images, pred, mask) = Inputs();
        string path = ReconstructionGrid.Save(Path.Combine(dir.Path, "epoch-3.png"), images, pred, mask, P, C, Mean, Std, normPix: true);
        Assert.Equal("epoch-3-normpix-restored.png", Path.GetFileName(path));
        using var png = Image.Load<Rgb24>(path);
        var text = png.Metadata.GetPngMetadata().TextData.Single(t => t.Keyword == "Description").Value;
        Assert.Contains("NormalizePixels", text);
        Assert.Contains("masked input", text);

        // the runner's overload takes patch size, channels and NormalizePixels from the spec
        var spec = new MaeSpec(H, P, C, 2, 32, 2, 4.0, 0.0, 1, 16, 2, 4.0, 0.75, MaskingStrategy.Random, false, NormalizePixels: true);
        using var output = new MaeOutput(torch.zeros(1), pred, mask, torch.zeros(N, L, dtype: ScalarType.Int64), torch.zeros(N, 5, 32));
        string fromSpec = ReconstructionGrid.Save(Path.Combine(dir.Path, "final.png"), images, output, spec, Normalization.FashionMnist);
        Assert.Equal("final-normpix-restored.png", Path.GetFileName(fromSpec));
        using var a = Image.Load<Rgb24>(path);
        using var b = Image.Load<Rgb24>(fromSpec);
        Assert.Equal((a.Width, a.Height, a[100, 50]), (b.Width, b.Height, b[100, 50]));
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var (images, pred, mask) = Inputs();
        var ex = Assert.Throws<ArgumentException>(() => ReconstructionGrid.Compute(images, pred[.., ..8], mask, P, C, Mean, Std, false));
        Assert.Contains("pred must be [3, 16, 49]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => ReconstructionGrid.Compute(images, pred, mask, P, 3, Mean, Std, false));
        Assert.Contains("images must be [N, 3, H, H]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => ReconstructionGrid.Compute(images, pred, mask[.., ..4], P, C, Mean, Std, false));
        Assert.Contains("mask must be [3, 16]", ex.Message);
    }
}

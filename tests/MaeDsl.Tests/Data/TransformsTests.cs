using MaeDsl.Data;

namespace MaeDsl.Tests.Data;

public class TransformsTests
{
    // PIL 9.4 reference: Image.fromarray(a, mode='F').resize((ow, oh), Image.BICUBIC) for
    // a[y, x] = ((y*9 + x) * 37 % 11) / 10 on a 7×9 image (see the commit that added this test).
    static readonly Dictionary<(int, int), float[]> PilReference = new()
    {
        [(4, 5)] = [0.3347770f,0.3872299f,0.5037403f,0.4818461f,0.6668525f,0.6720781f,0.5291958f,0.3907065f,0.4351689f,0.4314007f,0.4325758f,0.5848923f,0.6212796f,0.5020916f,0.4467501f,0.4452249f,0.4042240f,0.4870116f,0.6149348f,0.5194528f],
        [(13, 11)] = [-0.0410059f,0.2411890f,0.7248832f,0.6232603f,0.0738783f,0.4749304f,0.9542992f,0.4291581f,0.2709731f,0.7250120f,1.0864508f,0.0494304f,0.3572702f,0.5873262f,0.4414905f,0.1964455f,0.5989403f,0.7114186f,0.3790785f,0.4234530f,0.7524951f,0.7958274f,0.2324189f,0.5892324f,0.3349193f,0.1062376f,0.4352128f,0.8083371f,0.2522959f,0.2980886f,0.7060860f,0.7842589f,0.2526142f,0.3974536f,0.8121420f,0.3961695f,0.1332926f,0.5507736f,0.5223486f,0.1551605f,0.4762791f,0.7040066f,0.5233319f,0.2198541f,0.5595506f,0.9567385f,0.5988436f,0.3806152f,0.6095728f,0.0284934f,0.2919759f,0.7321016f,0.5197832f,0.1660862f,0.4876809f,0.8079326f,0.6952707f,0.4880239f,0.6125125f,0.8108025f,0.0648612f,0.4693681f,0.5138333f,0.2819397f,0.2785409f,0.7229295f,0.9278884f,0.3455011f,0.3561984f,0.7917355f,0.9247934f,0.3000000f,0.6793388f,0.2198347f,0.1074380f,0.5272861f,0.8159363f,0.4651014f,0.3005063f,0.6068993f,0.7869484f,0.5224205f,0.4615385f,0.9210501f,0.3621298f,0.2585806f,0.5437620f,0.3506359f,0.0695356f,0.3929428f,0.7894111f,0.6511648f,0.1997476f,0.6260810f,0.9704507f,0.5232688f,0.4995177f,0.5711061f,-0.0424166f,0.2134245f,0.6604298f,0.5820209f,0.3125310f,0.4084597f,0.8647246f,0.5364532f,0.4306673f,0.7446864f,0.7925668f,0.1014723f,0.4408633f,0.6994373f,0.3553380f,0.1865981f,0.6245599f,0.8222622f,0.2521361f,0.4524367f,0.8348597f,0.7997605f,0.3289111f,0.6516352f,0.3071700f,0.2063933f,0.4698566f,0.7023676f,0.3078847f,0.3563721f,0.7259930f,0.6676414f,0.4093477f,0.5396831f,0.7566203f,0.0949889f,0.1353415f,0.6274408f,0.7362577f,0.0331476f,0.4238611f,0.8712425f,0.5733580f,0.1995244f,0.6446682f],
        [(7, 4)] = [0.3180774f,0.4442245f,0.5557755f,0.6819227f,0.4044284f,0.3844417f,0.4458569f,0.5546246f,0.7372178f,0.4179635f,0.4099600f,0.3955716f,0.5453753f,0.6892672f,0.3720727f,0.4811580f,0.4180773f,0.5442246f,0.6908166f,0.3416258f,0.5044284f,0.4844417f,0.5458569f,0.6546246f,0.3453754f,0.4541431f,0.5155583f,0.4955716f],
        [(3, 9)] = [0.2552420f,0.6552419f,0.3411290f,0.3552419f,0.5201613f,0.4411290f,0.4552419f,0.6201613f,0.5766129f,0.5803419f,0.5532357f,0.5503052f,0.6803419f,0.3496948f,0.6503053f,0.3196581f,0.4496948f,0.4467643f,0.4447581f,0.4233871f,0.3798387f,0.5447581f,0.5588710f,0.4798387f,0.6447580f,0.6588710f,0.3447581f],
    };

    static FloatImage TestImage()
    {
        var img = new FloatImage(1, 7, 9);
        for (int y = 0; y < 7; y++) for (int x = 0; x < 9; x++) img[0, y, x] = ((y * 9 + x) * 37 % 11) / 10f;
        return img;
    }

    [Theory]
    [InlineData(4, 5)]
    [InlineData(13, 11)]
    [InlineData(7, 4)]
    [InlineData(3, 9)]
    public void Bicubic_matches_PIL(int outH, int outW)
    {
        var resized = Bicubic.Resize(TestImage(), outH, outW, clamp: false);
        var expected = PilReference[(outH, outW)];
        Assert.Equal(expected.Length, resized.Data.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - resized.Data[i]) < 2e-6, $"pixel {i}: PIL {expected[i]}, ours {resized.Data[i]}");
    }

    [Fact]
    public void Bicubic_clamps_overshoot_like_8bit_PIL_and_keeps_constant_images()
    {
        var up = Bicubic.Resize(TestImage(), 13, 11);   // PIL float gives −0.041 and 1.086 here
        Assert.All(up.Data, v => Assert.InRange(v, 0f, 1f));
        var flat = new FloatImage(3, 10, 10);
        Array.Fill(flat.Data, 0.25f);
        Assert.All(Bicubic.Resize(flat, 4, 7).Data, v => Assert.Equal(0.25f, v, 6));
    }

    [Fact]
    public void RandomResizedCrop_areas_and_ratios_are_within_range_over_many_draws()
    {
        var crop = new RandomResizedCrop(224);
        const int H = 480, W = 640;
        int fallbacks = 0;
        double minArea = 1, maxArea = 0, minRatio = 10, maxRatio = 0;
        for (int i = 0; i < 20000; i++)
        {
            var box = crop.GetParams(H, W, Seeds.Random(1, i), out bool fallback);
            if (fallback) { fallbacks++; continue; }
            Assert.InRange(box.Top, 0, H - box.Height);
            Assert.InRange(box.Left, 0, W - box.Width);
            // w and h are rounded to whole pixels: allow that rounding (±0.5 px on each side) and nothing more.
            double area = (double)box.Height * box.Width / (H * W);
            double roundingSlack = (box.Height + box.Width + 1.0) / (2.0 * H * W);
            Assert.InRange(area, 0.2 - roundingSlack, 1.0 + roundingSlack);
            double ratio = (double)box.Width / box.Height;
            Assert.InRange(ratio, 3.0 / 4 * (1 - 2.0 / box.Height), 4.0 / 3 * (1 + 2.0 / box.Height));
            minArea = Math.Min(minArea, area); maxArea = Math.Max(maxArea, area);
            minRatio = Math.Min(minRatio, ratio); maxRatio = Math.Max(maxRatio, ratio);
        }
        // The whole ranges are used, and the fallback is rare on an ordinary image.
        Assert.True(minArea < 0.205 && maxArea > 0.95, $"areas seen {minArea}..{maxArea}");
        Assert.True(minRatio < 0.76 && maxRatio > 1.32, $"ratios seen {minRatio}..{maxRatio}");
        Assert.True(fallbacks < 20, $"{fallbacks} fallbacks in 20000 draws on a 480×640 image");
    }

    [Fact]
    public void RandomResizedCrop_scale_parameter_for_the_linear_probe()
    {
        var crop = new RandomResizedCrop(224, 0.08);
        double minArea = 1;
        for (int i = 0; i < 5000; i++)
        {
            var box = crop.GetParams(500, 500, Seeds.Random(2, i), out bool fallback);
            if (!fallback) minArea = Math.Min(minArea, box.Height * box.Width / 250000.0);
        }
        Assert.InRange(minArea, 0.079, 0.09);
    }

    [Theory]
    [InlineData(10, 1000, 10, 13, 0, 493)]    // very wide: h = H, w = round(h·4/3)
    [InlineData(1000, 10, 13, 10, 493, 0)]    // very tall: w = W, h = round(w/(3/4))
    public void RandomResizedCrop_falls_back_to_a_centre_crop_with_clamped_aspect(int h, int w, int eh, int ew, int etop, int eleft)
    {
        var crop = new RandomResizedCrop(28);
        for (int i = 0; i < 50; i++)
        {
            var box = crop.GetParams(h, w, Seeds.Random(3, i), out bool fallback);
            Assert.True(fallback);
            Assert.Equal(new CropBox(etop, eleft, eh, ew), box);
        }
        var image = new FloatImage(1, h, w);
        var output = crop.Apply(image, Seeds.Random(3, 0));
        Assert.Equal((1, 28, 28), (output.Channels, output.Height, output.Width));
    }

    [Fact]
    public void Fashion_mnist_size_crop_returns_to_native_size_and_full_crop_is_identity()
    {
        var image = new SyntheticDataset(1, 1, 28, 28, 4, 5).Get(0).Image;
        var crop = new RandomResizedCrop(28);
        var output = crop.Apply(image, Seeds.Random(9, 0));
        Assert.Equal((28, 28), (output.Height, output.Width));
        // scale (1, 1) and ratio (1, 1) choose the whole image: no resampling happens.
        var whole = new RandomResizedCrop(28, 1.0, 1.0, 1.0, 1.0).Apply(image, Seeds.Random(9, 1));
        Assert.Equal(image.Data, whole.Data);
    }

    [Fact]
    public void Flip_probability_and_mirror()
    {
        var image = TestImage();
        int flipped = 0;
        for (int i = 0; i < 2000; i++)
        {
            var output = new RandomHorizontalFlip().Apply(image, Seeds.Random(4, i));
            if (!ReferenceEquals(output, image))
            {
                flipped++;
                Assert.Equal(image[0, 3, 0], output[0, 3, 8]);
                Assert.Equal(image[0, 6, 2], output[0, 6, 6]);
            }
        }
        Assert.InRange(flipped, 900, 1100);
    }

    [Fact]
    public void Eval_resizes_the_shorter_side_and_centre_crops()
    {
        var image = new FloatImage(3, 300, 400);
        for (int i = 0; i < image.Data.Length; i++) image.Data[i] = (i % 97) / 97f;
        var resized = new ResizeShorterSide(256).Apply(image, new Random(0));
        Assert.Equal((256, 341), (resized.Height, resized.Width));   // int(256·400/300)
        var eval = Transforms.Eval(224, Normalization.ImageNet).Apply(image, new Random(0));
        Assert.Equal((3, 224, 224), (eval.Channels, eval.Height, eval.Width));
        // centre crop offsets round((256−224)/2) = 16 and round((341−224)/2) = round(58.5) = 58 (half to even)
        var cropped = new CenterCrop(224).Apply(resized, new Random(0));
        Assert.Equal(resized[1, 16, 58], cropped[1, 0, 0]);
        Assert.Equal((resized[1, 16, 58] - 0.456f) / 0.224f, eval[1, 0, 0], 5);
        // The official rule: 28 → resize to int(28 / 0.875) = 32, centre crop 28 (offset 2); above 224, no extra margin.
        var small = new SyntheticDataset(1, 1, 28, 28).Get(0).Image;
        var up = new ResizeShorterSide(32).Apply(small, new Random(0));
        var evalSmall = Transforms.Eval(28, new Normalization([0f], [1f])).Apply(small, new Random(0));
        Assert.Equal(up[0, 2, 2], evalSmall[0, 0, 0]);
        var big = new FloatImage(1, 300, 400);
        for (int i = 0; i < big.Data.Length; i++) big.Data[i] = (i % 101) / 101f;
        var evalBig = Transforms.Eval(300, new Normalization([0f], [1f])).Apply(big, new Random(0));
        Assert.Equal((300, 300), (evalBig.Height, evalBig.Width));
        Assert.Equal(big[0, 0, 50], evalBig[0, 0, 0]);   // no resize (crop_pct 1), centre crop only
        // Fashion-MNIST at native size: cropPct 1 only normalises.
        var fm = new SyntheticDataset(1, 1, 28, 28).Get(0).Image;
        var native = Transforms.Eval(28, Normalization.FashionMnist, cropPct: 1.0).Apply(fm, new Random(0));
        Assert.Equal((fm[0, 5, 7] - FashionMnist.Mean) / FashionMnist.Std, native[0, 5, 7], 5);
    }

    [Fact]
    public void Normalize_per_channel_and_errors()
    {
        var image = new FloatImage(3, 1, 1, [0.5f, 0.5f, 0.5f]);
        var output = new Normalize(Normalization.ImageNet.Mean, Normalization.ImageNet.Std).Apply(image, new Random(0));
        Assert.Equal((0.5f - 0.485f) / 0.229f, output.Data[0], 6);
        Assert.Equal((0.5f - 0.406f) / 0.225f, output.Data[2], 6);
        var ex = Assert.Throws<ArgumentException>(() => new Normalize([0.1f, 0.2f], [1f, 1f]).Apply(image, new Random(0)));
        Assert.Contains("3 channels", ex.Message);
        Assert.Throws<ArgumentException>(() => new Normalize([0.1f], [0f]));
    }

    [Fact]
    public void Pretrain_transform_is_a_function_of_seed_epoch_and_index()
    {
        var image = new SyntheticDataset(1, 3, 40, 40, 4, 1).Get(0).Image;
        var t = Transforms.Pretrain(32, Normalization.ImageNet);
        var a = t.Apply(image, Seeds.Random(7, Seeds.Streams.Augment, 3, 0));
        var b = t.Apply(image, Seeds.Random(7, Seeds.Streams.Augment, 3, 0));
        var c = t.Apply(image, Seeds.Random(7, Seeds.Streams.Augment, 4, 0));
        Assert.Equal(a.Data, b.Data);
        Assert.NotEqual(a.Data, c.Data);
    }
}

using MaeDsl.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Tests.Data;

public class ImageFolderTests
{
    // A 4×3 RGBA picture with distinct colours and a varying alpha.
    static Rgba32 Colour(int x, int y) => new((byte)(40 * x + 10), (byte)(60 * y + 5), (byte)(200 - 30 * x - 20 * y), (byte)(255 - 50 * x));
    static byte Grey(int x, int y) => (byte)(20 * x + 70 * y + 3);

    static void WriteRgba(string path, IImageEncoder encoder)
    {
        using var image = new Image<Rgba32>(4, 3);
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) image[x, y] = Colour(x, y);
        image.Save(path, encoder);
    }

    static void WriteGrey(string path, IImageEncoder encoder)
    {
        using var image = new Image<L8>(4, 3);
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) image[x, y] = new L8(Grey(x, y));
        image.Save(path, encoder);
    }

    static string Layout(TempDir dir)
    {
        string root = Path.Combine(dir.Path, "root");
        // classes are sorted by name (ordinal): "a_grey" < "b_rgb" < "c_formats"
        foreach (var c in new[] { "b_rgb", "a_grey", "c_formats" }) Directory.CreateDirectory(Path.Combine(root, c));
        WriteGrey(Path.Combine(root, "a_grey", "g1.png"), new PngEncoder { ColorType = PngColorType.Grayscale });
        WriteGrey(Path.Combine(root, "a_grey", "g2.bmp"), new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel8 });
        File.WriteAllText(Path.Combine(root, "a_grey", "notes.txt"), "not an image");
        WriteRgba(Path.Combine(root, "b_rgb", "alpha.png"), new PngEncoder { ColorType = PngColorType.RgbWithAlpha });
        WriteRgba(Path.Combine(root, "b_rgb", "photo.jpg"), new JpegEncoder { Quality = 100 });
        WriteRgba(Path.Combine(root, "b_rgb", "rgb.bmp"), new BmpEncoder { BitsPerPixel = BmpBitsPerPixel.Pixel24 });
        WriteRgba(Path.Combine(root, "c_formats", "x.webp"), new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });
        WriteRgba(Path.Combine(root, "c_formats", "y.tiff"), new TiffEncoder());
        WriteGrey(Path.Combine(root, "c_formats", "z.gif"), new GifEncoder());
        return root;
    }

    [Fact]
    public void Lists_classes_sorted_and_files_with_labels()
    {
        using var dir = new TempDir();
        var ds = new ImageFolder(Layout(dir), channels: 3);
        Assert.Equal(new[] { "a_grey", "b_rgb", "c_formats" }, ds.ClassNames);
        Assert.Equal(8, ds.Count);
        var names = Enumerable.Range(0, ds.Count).Select(i => Path.GetFileName(ds.PathOf(i))).ToArray();
        Assert.Equal(new[] { "g1.png", "g2.bmp", "alpha.png", "photo.jpg", "rgb.bmp", "x.webp", "y.tiff", "z.gif" }, names);
        Assert.Equal(new[] { 0, 0, 1, 1, 1, 2, 2, 2 }, Enumerable.Range(0, ds.Count).Select(ds.GetLabel));
    }

    [Fact]
    public void Rgb_images_keep_their_values_and_drop_alpha()
    {
        using var dir = new TempDir();
        var ds = new ImageFolder(Layout(dir), channels: 3);
        foreach (var name in new[] { "alpha.png", "rgb.bmp", "x.webp", "y.tiff" })
        {
            int index = Enumerable.Range(0, ds.Count).Single(i => ds.PathOf(i).EndsWith(name));
            var (image, _) = ds.Get(index);
            Assert.Equal((3, 3, 4), (image.Channels, image.Height, image.Width));
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                {
                    var c = Colour(x, y);   // alpha < 255 must not darken the colour (no premultiplication)
                    Assert.Equal(c.R / 255f, image[0, y, x]);
                    Assert.Equal(c.G / 255f, image[1, y, x]);
                    Assert.Equal(c.B / 255f, image[2, y, x]);
                }
        }
        int jpg = Enumerable.Range(0, ds.Count).Single(i => ds.PathOf(i).EndsWith(".jpg"));
        var jpeg = ds.Get(jpg).Image;   // lossy, but close at quality 100
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) Assert.InRange(jpeg[0, y, x] - Colour(x, y).R / 255f, -0.05f, 0.05f);
    }

    [Fact]
    public void Grey_images_are_repeated_to_rgb()
    {
        using var dir = new TempDir();
        var ds = new ImageFolder(Layout(dir), channels: 3);
        foreach (int index in new[] { 0, 1, 7 })   // g1.png, g2.bmp, z.gif
        {
            var image = ds.Get(index).Image;
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                    for (int c = 0; c < 3; c++)
                        Assert.Equal(Grey(x, y) / 255f, image[c, y, x]);
        }
    }

    [Fact]
    public void Rgb_images_become_grey_by_luma_and_grey_stays_exact()
    {
        using var dir = new TempDir();
        var ds = new ImageFolder(Layout(dir), channels: 1);
        var grey = ds.Get(0).Image;
        Assert.Equal(1, grey.Channels);
        Assert.Equal(Grey(2, 1) / 255f, grey[0, 1, 2]);
        var rgb = ds.Get(2).Image;   // alpha.png
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++)
            {
                var c = Colour(x, y);
                Assert.Equal((0.299 * c.R + 0.587 * c.G + 0.114 * c.B) / 255.0, rgb[0, y, x], 6);
            }
    }

    [Fact]
    public void Unsupported_channel_counts_bad_files_and_bad_layouts_get_clear_errors()
    {
        using var dir = new TempDir();
        string root = Layout(dir);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFolder(root, channels: 4));
        Assert.Contains("4 channels", ex.Message);
        Assert.Contains(root, ex.Message);
        var decodeEx = Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(Path.Combine(root, "a_grey", "g1.png"), 2));
        Assert.Contains("g1.png", decodeEx.Message);

        string broken = Path.Combine(root, "b_rgb", "broken.png");
        File.WriteAllText(broken, "this is not a png");
        var ds = new ImageFolder(root, 3);
        int index = Enumerable.Range(0, ds.Count).Single(i => ds.PathOf(i) == broken);
        var badEx = Assert.Throws<InvalidDataException>(() => ds.Get(index));
        Assert.Contains(broken, badEx.Message);

        Directory.CreateDirectory(Path.Combine(root, "d_empty"));
        var emptyEx = Assert.Throws<FileNotFoundException>(() => new ImageFolder(root, 3));
        Assert.Contains("d_empty", emptyEx.Message);
        var missing = Path.Combine(dir.Path, "nothing-here");
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(missing, 3)).Message);
    }

    [Fact]
    public void Mixed_sizes_batch_through_a_resizing_transform_and_fail_clearly_without_one()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "root");
        Directory.CreateDirectory(Path.Combine(root, "k"));
        using (var small = new Image<Rgb24>(10, 8)) small.SaveAsPng(Path.Combine(root, "k", "a.png"));
        using (var large = new Image<Rgb24>(30, 20)) large.SaveAsPng(Path.Combine(root, "k", "b.png"));
        var ds = new ImageFolder(root, 3);
        var loader = new BatchLoader(ds, 2, Transforms.Eval(8, Normalization.ImageNet), shuffle: false, dropLast: false, workers: 1);
        using (var batch = loader.Epoch(0).Single())
            Assert.Equal(new long[] { 2, 3, 8, 8 }, batch.Images.shape);
        var raw = new BatchLoader(ds, 2, null, shuffle: false, dropLast: false, workers: 1);
        var ex = Assert.Throws<InvalidDataException>(() => raw.Epoch(0).ToList());
        Assert.Contains("ImageFolder file", ex.Message);
        Assert.Contains("Transforms.Eval", ex.Message);
    }
}

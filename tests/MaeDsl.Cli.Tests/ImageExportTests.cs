// export-images: Fashion-MNIST written as an ImageFolder of 32×32 RGB PNGs reads back through DataSources.
namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class ImageExportTests
{
    [Fact]
    public void Fashion_mnist_exported_at_32_rgb_reads_back_as_an_image_folder_with_its_labels()
    {
        using var dir = new TempDir();
        var fm = DataSources.Open("fashion-mnist", null, imageSize: 32, modelChannels: 3);
        string train = Path.Combine(dir.Path, "train"), val = Path.Combine(dir.Path, "val");
        Assert.Equal(40, ImageExport.Write(fm.Train, train, size: 32, limit: 40));
        Assert.Equal(10, ImageExport.Write(fm.Test!, val, size: 32, limit: 10));
        Assert.True(Directory.Exists(Path.Combine(train, "00-t-shirt-top")));

        var back = DataSources.Open(train, null, imageSize: 32, modelChannels: 3);
        Assert.Equal(40, back.Train.Count);
        Assert.Equal(10, back.Test!.Count);
        Assert.Equal(fm.Train.ClassNames.Count, back.Train.NumClasses);
        Assert.Equal(back.Train.ClassNames, back.Test.ClassNames); // train and val agree on labels
        // balanced: 4 of each of the 10 classes, the first ones in dataset order
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(4, Enumerable.Range(0, 40).Count(i => back.Train.GetLabel(i) == c)));
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1, Enumerable.Range(0, 10).Count(i => back.Test.GetLabel(i) == c)));
        Assert.True(File.Exists(Path.Combine(train, "09-ankle-boot", "00000.png"))); // Fashion-MNIST's first training image
        var (image, _) = back.Train.Get(0);
        Assert.Equal((3, 32, 32), (image.Channels, image.Height, image.Width));
    }

    [Fact]
    public void Fewer_images_than_classes_is_an_error()
    {
        using var dir = new TempDir();
        var fm = DataSources.Open("fashion-mnist", null, imageSize: 28, modelChannels: 1);
        var e = Assert.Throws<ArgumentException>(() => ImageExport.Write(fm.Test!, dir.Path, 28, limit: 5));
        Assert.Equal("--limit = 5 is invalid: at least one image per class is needed (10 classes)", e.Message);
    }

    [Fact]
    public void The_command_writes_for_the_models_size_and_reports_it()
    {
        using var dir = new TempDir();
        var r = CliConsole.Run(["export-images", "--model", "tiny", "--split", "test", "--limit", "20", "--output", dir.Path]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal($"wrote 20 images of 28×28×1 (10 classes) for MaeFashionTiny to {dir.Path}", r.OutLines[^1]);
        Assert.Equal(20, Directory.GetFiles(dir.Path, "*.png", SearchOption.AllDirectories).Length);
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using MaeDsl.Data;

namespace MaeDsl.Tests.Data;

public class FashionMnistTests
{
    // The data is installed by eng/install-native-deps.sh (Debian's dataset-fashion-mnist) here and in CI:
    // a missing folder fails these tests with FashionMnist's message, it never skips them.

    [Fact]
    public void Test_set_has_1000_images_per_class()
    {
        var test = FashionMnist.Load(train: false);
        Assert.Equal(10000, test.Count);
        var counts = new int[10];
        for (int i = 0; i < test.Count; i++) counts[test.GetLabel(i)]++;
        Assert.All(counts, c => Assert.Equal(1000, c));
        Assert.Equal((1, 28, 28, 10), (test.Channels, test.Height!.Value, test.Width!.Value, test.NumClasses));
    }

    [Fact]
    public void Train_set_has_6000_images_per_class_and_its_statistics_match_the_constants()
    {
        var train = FashionMnist.Load(train: true);
        Assert.Equal(60000, train.Count);
        var counts = new int[10];
        for (int i = 0; i < train.Count; i++) counts[train.GetLabel(i)]++;
        Assert.All(counts, c => Assert.Equal(6000, c));
        var stats = Normalization.Compute(train);
        Assert.Equal(FashionMnist.Mean, stats.Mean[0], 4);
        Assert.Equal(FashionMnist.Std, stats.Std[0], 4);
    }

    [Fact]
    public void Items_are_float_in_unit_range_converted_from_the_raw_bytes()
    {
        var test = FashionMnist.Load(train: false);
        var (image, label) = test.Get(0);
        Assert.Equal(9, label);   // the first t10k item is an ankle boot
        var raw = test.RawPixels(0);
        for (int i = 0; i < 784; i++) Assert.Equal(raw[i] / 255f, image.Data[i]);
        Assert.Contains(image.Data, v => v > 0.5f);
        Assert.Throws<ArgumentOutOfRangeException>(() => test.Get(10000));
    }

    [Fact]
    public void Missing_folder_names_the_folder_the_package_and_the_script()
    {
        var folder = Path.Combine(Path.GetTempPath(), "maedsl-no-such-folder-" + Guid.NewGuid().ToString("N"));
        var ex = Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.Load(folder));
        Assert.Contains(folder, ex.Message);
        Assert.Contains("dataset-fashion-mnist", ex.Message);
        Assert.Contains("eng/install-native-deps.sh", ex.Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(dir.Path, train: false));
        Assert.Contains("t10k-images-idx3-ubyte.gz", ex.Message);
        Assert.Contains("dataset-fashion-mnist", ex.Message);
    }

    [Fact]
    public void Bad_magic_truncated_and_mismatched_files_get_clear_errors()
    {
        using var dir = new TempDir();
        string images = Path.Combine(dir.Path, "t10k-images-idx3-ubyte.gz");
        string labels = Path.Combine(dir.Path, "t10k-labels-idx1-ubyte.gz");

        WriteIdx(images, 0x00000801, [2], new byte[2]);              // a label file where images are expected
        var ex = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir.Path, train: false));
        Assert.Contains(images, ex.Message);
        Assert.Contains("0x00000801", ex.Message);

        WriteIdx(images, 0x00000803, [2, 28, 28], new byte[784]);    // announces 2 images, holds 1
        ex = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir.Path, train: false));
        Assert.Contains(images, ex.Message);
        Assert.Contains("truncated", ex.Message);

        WriteIdx(images, 0x00000803, [2, 27, 28], new byte[2 * 27 * 28]);
        ex = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir.Path, train: false));
        Assert.Contains("27×28", ex.Message);

        WriteIdx(images, 0x00000803, [2, 28, 28], new byte[2 * 784]);
        WriteIdx(labels, 0x00000801, [3], new byte[3]);
        ex = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir.Path, train: false));
        Assert.Contains("3 labels", ex.Message);

        WriteIdx(labels, 0x00000801, [2], [1, 12]);
        ex = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir.Path, train: false));
        Assert.Contains("label 12", ex.Message);

        WriteIdx(labels, 0x00000801, [2], [1, 7]);
        var ok = FashionMnist.Load(dir.Path, train: false);
        Assert.Equal(7, ok.GetLabel(1));

        File.WriteAllBytes(labels, [1, 2, 3, 4]);                     // not gzip
        ex = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(dir.Path, train: false));
        Assert.Contains(labels, ex.Message);
    }

    static void WriteIdx(string path, int magic, int[] dims, byte[] data)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, magic); gz.Write(word);
        foreach (var d in dims) { BinaryPrimitives.WriteInt32BigEndian(word, d); gz.Write(word); }
        gz.Write(data);
    }
}

sealed class TempDir : IDisposable
{
    public TempDir() { Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "maedsl-test-" + Guid.NewGuid().ToString("N")); Directory.CreateDirectory(Path); }
    public string Path { get; }
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

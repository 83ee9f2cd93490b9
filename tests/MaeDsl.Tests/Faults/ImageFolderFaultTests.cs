// ImageFolder must not trust the file system: symlink loops, links out of the tree, FIFOs and other special files, names that
// are not UTF-8; and a held-out split maps to the training classes by name.
using MaeDsl.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Tests.Faults;

public class ImageFolderFaultTests
{
    const string NoUnixFiles = "symbolic links and FIFOs are made with Unix calls";

    static void Png(string path, byte value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<L8>(4, 4);
        for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) image[x, y] = new L8(value);
        image.SaveAsPng(path);
    }

    // train/a: 4 images, train/b: 4 images
    static string Tree(FaultDir dir)
    {
        string root = dir["train"];
        for (int i = 0; i < 4; i++) { Png(Path.Combine(root, "a", $"a{i}.png"), 10); Png(Path.Combine(root, "b", $"b{i}.png"), 200); }
        return root;
    }

    static void AssertEightImagesCorrectlyLabelled(ImageFolder folder)
    {
        Assert.Equal(8, folder.Count);
        Assert.Equal(["a", "b"], folder.ClassNames);
        for (int i = 0; i < folder.Count; i++)
        {
            string cls = Path.GetFileName(Path.GetDirectoryName(folder.PathOf(i)))!;
            Assert.Equal(cls == "a" ? 0 : 1, folder.GetLabel(i));
        }
    }

    [SkippableFact]
    public void SymlinkLoopInImageFolderIsNotFollowed()
    {
        Skip.If(OperatingSystem.IsWindows(), NoUnixFiles);
        using var dir = new FaultDir();
        string root = Tree(dir);
        File.CreateSymbolicLink(Path.Combine(root, "a", "loop"), "..");   // train/a/loop -> train: was 328 images, b's labelled a
        var folder = FaultAssert.Within(30, () => new ImageFolder(root, channels: 1));
        AssertEightImagesCorrectlyLabelled(folder);
        var skip = Assert.Single(folder.Skipped);
        Assert.Equal(Path.Combine(root, "a", "loop"), skip.Path);
        Assert.Contains("not followed", skip.Reason);
        FaultAssert.OneLine(folder.SkipSummary!, "skipped 1 entry", "loop");
    }

    [SkippableFact]
    public void DirectorySymlinkOutOfTheTreeIsNotFollowed()
    {
        Skip.If(OperatingSystem.IsWindows(), NoUnixFiles);
        using var dir = new FaultDir();
        string root = Tree(dir);
        Png(dir["elsewhere/x.png"], 50);
        File.CreateSymbolicLink(Path.Combine(root, "b", "out"), dir["elsewhere"]);
        File.CreateSymbolicLink(Path.Combine(root, "c"), Path.Combine(root, "a"));   // a class folder that is a link back into the tree
        var folder = new ImageFolder(root, channels: 1);
        AssertEightImagesCorrectlyLabelled(folder);
        Assert.Equal(2, folder.Skipped.Count);
        Assert.All(folder.Skipped, s => Assert.Contains("not followed", s.Reason));
        Assert.Contains("skipped 2 entries", folder.SkipSummary);
    }

    [SkippableFact]
    public void FifoNamedPngIsSkippedWithoutOpeningIt()
    {
        Skip.If(OperatingSystem.IsWindows(), NoUnixFiles);
        using var dir = new FaultDir();
        string root = Tree(dir);
        string pipe = Path.Combine(root, "a", "pipe.png");
        FaultAssert.Run("mkfifo", pipe);   // opening it for reading would block forever
        var folder = FaultAssert.Within(30, () => new ImageFolder(root, channels: 1));
        AssertEightImagesCorrectlyLabelled(folder);
        var skip = Assert.Single(folder.Skipped);
        Assert.Equal(pipe, skip.Path);
        Assert.Contains("FIFO", skip.Reason);
        FaultAssert.OneLine(folder.SkipSummary!, "skipped 1 entry", "FIFO", pipe);
        // decoding it directly is refused at once, by name, without opening it
        var e = FaultAssert.Within(30, () => Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(pipe, 1)));
        FaultAssert.OneLine(e.Message, pipe, "not a regular file");
    }

    [SkippableFact]
    public void DanglingAndSpecialFileSymlinksAreSkippedAndFileSymlinksFollowed()
    {
        Skip.If(OperatingSystem.IsWindows(), NoUnixFiles);
        using var dir = new FaultDir();
        string root = Tree(dir);
        Png(dir["elsewhere/real.png"], 77);
        File.CreateSymbolicLink(Path.Combine(root, "b", "linked.png"), dir["elsewhere/real.png"]);   // a file symlink: followed
        File.CreateSymbolicLink(Path.Combine(root, "b", "gone.png"), dir["elsewhere/missing.png"]);   // dangling
        File.CreateSymbolicLink(Path.Combine(root, "b", "dev.png"), "/dev/zero");                      // a device: never ends
        var folder = FaultAssert.Within(30, () => new ImageFolder(root, channels: 1));
        Assert.Equal(9, folder.Count);
        int linked = Enumerable.Range(0, folder.Count).Single(i => folder.PathOf(i).EndsWith("linked.png"));
        Assert.Equal(1, folder.GetLabel(linked));
        Assert.Equal(77 / 255f, folder.Get(linked).Image.Data[0], 1e-6f);
        Assert.Equal(2, folder.Skipped.Count);
        Assert.Contains(folder.Skipped, s => s.Path.EndsWith("gone.png") && s.Reason.Contains("dangling"));
        Assert.Contains(folder.Skipped, s => s.Path.EndsWith("dev.png") && s.Reason.Contains("device"));
    }

    [Fact]
    public void BrokenImagesAreSkippedCountedAndNamedWhenChecked()
    {
        using var dir = new FaultDir();
        string root = Tree(dir);
        File.WriteAllText(Path.Combine(root, "a", "text.png"), "not an image");
        File.WriteAllBytes(Path.Combine(root, "b", "huge.png"), DecodeLimitFaultTests.PngWithHeaderSize(30000, 30000));
        // without the check, the listing is cheap and a bad file is refused by name when it is decoded
        var lazy = new ImageFolder(root, channels: 1);
        Assert.Equal(10, lazy.Count);
        Assert.Empty(lazy.Skipped);
        // with it, they are skipped, counted and named; the run goes on with the 8 good ones
        var folder = new ImageFolder(root, channels: 1, checkImages: true);
        AssertEightImagesCorrectlyLabelled(folder);
        Assert.Equal(2, folder.Skipped.Count);
        FaultAssert.OneLine(folder.SkipSummary!, "skipped 2 entries", "broken or oversized image");
        Assert.Contains(folder.Skipped, s => s.Path.EndsWith("huge.png") && s.Reason.Contains("30000×30000"));
    }

    [Fact]
    public void CorruptImageDuringNormalisationIsOneLineNotAggregateException()
    {
        using var dir = new FaultDir();
        string root = Tree(dir);
        string corrupt = Path.Combine(root, "a", "a1.png");
        File.WriteAllBytes(corrupt, File.ReadAllBytes(corrupt)[..40]);   // a PNG cut after its header
        var folder = new ImageFolder(root, channels: 1);                  // 1 channel: the statistics are computed from the images
        FaultAssert.Refuses<InvalidDataException>(() => Normalization.For(folder), corrupt);
    }
}

/// <summary>Issue 19, class 3: a held-out split maps its folders to the training split's classes by name.</summary>
public class ImageFolderSplitFaultTests
{
    static string Split(FaultDir dir, string name, params string[] classes)
    {
        string root = dir[name];
        foreach (var cls in classes)
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(8, 8);
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(root, cls, "0.png"));
        }
        return root;
    }

    [Fact]
    public void AHeldOutSplitLackingAClassKeepsTheTrainingLabelsAndListsTheMissingClass()
    {
        using var dir = new FaultDir();
        var train = new ImageFolder(Split(dir, "train", "a-shirt", "b-trouser", "c-bag"), channels: 1);
        var val = new ImageFolder(Split(dir, "val", "a-shirt", "c-bag"), channels: 1, classes: train.ClassNames);
        Assert.Equal(train.ClassNames, val.ClassNames);
        Assert.Equal(3, val.NumClasses);
        Assert.Equal(["b-trouser"], val.MissingClasses);
        // by position, c-bag would be label 1 (trouser); by name it is 2, as in training
        Assert.Equal([0, 2], Enumerable.Range(0, val.Count).Select(val.GetLabel));
    }

    [Fact]
    public void AHeldOutSplitWithAClassTrainingLacksIsRefusedBeforeAnyImageIsRead()
    {
        using var dir = new FaultDir();
        var train = new ImageFolder(Split(dir, "train", "a", "b"), channels: 1);
        string val = Split(dir, "val", "a", "b", "z-extra");
        FaultAssert.Refuses<InvalidDataException>(() => new ImageFolder(val, channels: 1, classes: train.ClassNames),
            val, "'z-extra'", "not among the 2 classes of the training split", "'a', 'b'");
    }
}

public class ImageFolderNameFaultTests
{
    [Fact]
    public void AFileNameThatIsNotUtf8IsSkippedSayingSoNotCalledMissing()
    {
        using var dir = new FaultDir();
        string cls = dir["root/a"];
        Directory.CreateDirectory(cls);
        using (var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(8, 8))
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(cls, "good.png"));
        // a Latin-1 'é' (0xE9) alone is not UTF-8: .NET cannot even create such a name, the shell can
        FaultAssert.Run("sh", "-c", "cp \"$1/good.png\" \"$1/$(printf 'caf\\351.png')\"", "sh", cls);
        Assert.Equal(2, Directory.GetFiles(cls).Length);
        var folder = new ImageFolder(dir["root"], channels: 1);
        Assert.Equal(1, folder.Count);
        var skipped = Assert.Single(folder.Skipped);
        Assert.Contains("not valid UTF-8", skipped.Reason);
        Assert.DoesNotContain("missing", skipped.Reason);
        Assert.Contains("not valid UTF-8", folder.SkipSummary);
    }
}

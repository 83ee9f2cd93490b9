// File-system edges (issue 19, class 8): a legal name near the 255-byte limit is written (its temporary sibling must fit
// too), and a matrix writer on a full disk leaves no temporary file behind.
using MaeDsl.IO;

namespace MaeDsl.Tests.Faults;

public class FileSystemEdgeFaultTests
{
    [Theory]
    [InlineData(244)]
    [InlineData(255)]
    public void ALegalLongNameIsWrittenAndItsTemporaryNameFits(int nameBytes)
    {
        using var dir = new FaultDir();
        string name = new string('a', nameBytes - 4) + ".csv";
        string path = dir[name];
        string temp = AtomicFile.TempName(path);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(Path.GetFileName(temp)) <= 255, temp);
        Assert.True(AtomicFile.IsTemporary(temp));
        AtomicFile.Write(path, s => s.Write("x,y\n"u8));
        Assert.Equal("x,y\n", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
        using (var writer = new MatrixFileWriter(dir[new string('b', nameBytes - 4) + ".npy"], 2, 3))
        {
            writer.Append([1f, 2, 3, 4, 5, 6]);
            writer.Complete();
        }
        Assert.Equal(2, Directory.GetFiles(dir.Path).Length);
    }

    [Fact]
    public void ALongNameOfMultiByteCharactersIsCutAtACharacterBoundary()
    {
        string path = Path.Combine(Path.GetTempPath(), string.Concat(Enumerable.Repeat("é", 120)) + ".npy");   // 244 bytes
        string temp = Path.GetFileName(AtomicFile.TempName(path));
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(temp) <= 255);
        Assert.DoesNotContain('\uFFFD', temp);
        Assert.StartsWith("éé", temp);
    }

    [SkippableFact]
    public void AMatrixWriterOnAFullDiskLeavesNoTemporaryFile()
    {
        using var dir = new FaultDir();
        string mount = dir["tmpfs"];
        Directory.CreateDirectory(mount);
        Skip.IfNot(OperatingSystem.IsLinux() && FaultAssert.TryRun("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount),
            "a 64 KB tmpfs needs Linux and the right to mount (root)");
        try
        {
            string path = Path.Combine(mount, "features.npy");
            var failure = Assert.ThrowsAny<IOException>(() =>
            {
                using var writer = new MatrixFileWriter(path, 4096, 64);   // 1 MiB of rows on a 64 KiB disk
                var rows = new float[64 * 256];
                for (int i = 0; i < 16; i++) writer.Append(rows);
                writer.Complete();
            });
            Assert.Contains("No space left on device", failure.Message);
            Assert.Empty(Directory.GetFiles(mount));   // neither the target nor its temporary .npy
        }
        finally { FaultAssert.TryRun("umount", mount); }
    }
}

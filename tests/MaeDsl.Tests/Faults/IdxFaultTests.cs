// Fashion-MNIST's IDX header is not trusted: what it announces must be in the file before the buffer is allocated.
using System.Buffers.Binary;
using System.IO.Compression;
using MaeDsl.Data;

namespace MaeDsl.Tests.Faults;

public class IdxFaultTests
{
    static byte[] Idx(int magic, int[] dims, int dataBytes)
    {
        var bytes = new byte[4 + 4 * dims.Length + dataBytes];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        return bytes;
    }

    static string Gz(string path, byte[] content)
    {
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(content);
        return path;
    }

    [Fact]
    public void IdxHeaderAnnouncingMoreThanTheFileHoldsIsRefusedBeforeAllocation()
    {
        using var dir = new FaultDir();
        // 60000 × 28 × 28 announced, 100 bytes held: refused without allocating 47 MB (2 GB for the largest header)
        string raw = dir["train-images-idx3-ubyte"];
        File.WriteAllBytes(raw, Idx(FashionMnist.ImagesMagic, [60000, 28, 28], 100));
        FaultAssert.Refuses<InvalidDataException>(() => FashionMnist.ReadImages(raw), raw, "announce 47040000 data bytes", "holds 100");
        string gz = Gz(dir["train-images-idx3-ubyte.gz"], Idx(FashionMnist.ImagesMagic, [46000, 216, 216], 100));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        FaultAssert.Refuses<InvalidDataException>(() => FashionMnist.ReadImages(gz), gz, "truncated IDX file");
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64 << 20, "the refusal allocated the announced buffer");
    }

    [Fact]
    public void IdxSizesOverflowingLongAreOneLine()
    {
        using var dir = new FaultDir();
        string path = dir["huge-idx"];
        // rank 8 of int.MaxValue: the product overflowed a long (a raw OverflowException or a negative array size)
        File.WriteAllBytes(path, Idx(0x00000808, Enumerable.Repeat(int.MaxValue, 8).ToArray(), 16));
        FaultAssert.Refuses<InvalidDataException>(() => FashionMnist.ReadLabels(path), path);
    }

    static byte[] GzBytes(byte[] content)
    {
        using var m = new MemoryStream();
        using (var gz = new GZipStream(m, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(content);
        return m.ToArray();
    }

    static byte[] Labels(int count)
    {
        var idx = Idx(FashionMnist.LabelsMagic, [count], count);
        for (int i = 0; i < count; i++) idx[8 + i] = (byte)(i % 10);
        return idx;
    }

    [Fact]
    public void AMultiMemberGzipThatZcatReadsIsRead()
    {
        using var dir = new FaultDir();
        // two gzip members (as `cat a.gz b.gz` or a parallel gzip makes): the last member's ISIZE is not the file's size
        var idx = Labels(5000);
        string path = dir["train-labels-idx1-ubyte.gz"];
        File.WriteAllBytes(path, [.. GzBytes(idx[..3001]), .. GzBytes(idx[3001..])]);
        var labels = FashionMnist.ReadLabels(path);
        Assert.Equal(idx[8..], labels);
    }

    [Fact]
    public void ATruncatedGzipSaysTruncatedNotExtraBytes()
    {
        using var dir = new FaultDir();
        var gz = GzBytes(Labels(50_000));
        string path = dir["train-labels-idx1-ubyte.gz"];
        File.WriteAllBytes(path, gz[..(gz.Length / 2)]);
        var e = Assert.ThrowsAny<InvalidDataException>(() => FashionMnist.ReadLabels(path));
        FaultAssert.OneLine(e.Message, path);
        Assert.Contains("truncated", e.Message);
        Assert.DoesNotContain("extra bytes", e.Message);
    }

    [Fact]
    public void AFifoForAnIdxFileIsRefusedWithoutOpeningIt()
    {
        using var dir = new FaultDir();
        string fifo = dir["train-labels-idx1-ubyte.gz"];
        if (!FaultAssert.TryRun("mkfifo", fifo)) throw new InvalidOperationException("mkfifo failed");
        var thrown = Assert.ThrowsAny<Exception>(() => FaultAssert.Within(20, () => FashionMnist.ReadLabels(fifo)));
        var e = Assert.IsType<InvalidDataException>(thrown is AggregateException a ? a.InnerException : thrown);
        FaultAssert.OneLine(e.Message, fifo, "FIFO", "not a regular file");
    }
}

/// <summary>Sets the process-wide MAEDSL_FASHION_MNIST, so it runs alone (no other test reads the variable meanwhile).</summary>
[CollectionDefinition(nameof(FashionMnistVariableFaultTests), DisableParallelization = true)]
public sealed class FashionMnistVariableCollection;

[Collection(nameof(FashionMnistVariableFaultTests))]
public class FashionMnistVariableFaultTests
{
    [Fact]
    public void TheFashionMnistVariablePointingToAFileIsNamed()
    {
        using var dir = new FaultDir();
        string file = dir["not-a-folder"];
        File.WriteAllText(file, "x");
        string? before = Environment.GetEnvironmentVariable(FashionMnist.FolderVariable);
        Environment.SetEnvironmentVariable(FashionMnist.FolderVariable, file);
        try
        {
            FaultAssert.Refuses<DirectoryNotFoundException>(() => FashionMnist.Load(), file, FashionMnist.FolderVariable, "regular file, not a folder");
        }
        finally { Environment.SetEnvironmentVariable(FashionMnist.FolderVariable, before); }
    }
}

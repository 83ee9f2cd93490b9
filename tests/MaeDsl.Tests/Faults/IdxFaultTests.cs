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
        FaultAssert.Refuses<InvalidDataException>(() => FashionMnist.ReadImages(gz), gz, "gzip stream holds");
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
}

// No decode without limits: tiny files with huge headers, many-frame GIFs, batch buffers beyond an array or the memory.
using System.Buffers.Binary;
using MaeDsl.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Tests.Faults;

public class DecodeLimitFaultTests
{
    /// <summary>A small 1-bit PNG whose IHDR is patched to claim <paramref name="width"/>×<paramref name="height"/> (CRC fixed).</summary>
    public static byte[] PngWithHeaderSize(int width, int height)
    {
        using var image = new Image<L8>(8, 8);
        using var ms = new MemoryStream();
        image.SaveAsPng(ms, new PngEncoder { ColorType = PngColorType.Grayscale, BitDepth = PngBitDepth.Bit1 });
        var bytes = ms.ToArray();
        // signature (8) | length (4) "IHDR" (4) width (4) height (4) … | CRC over type + data (13 bytes)
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(20), height);
        uint crc = Crc32Of(bytes.AsSpan(12, 17));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(29), crc);
        return bytes;
    }

    static uint Crc32Of(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFF;
    }

    /// <summary>A GIF of <paramref name="frames"/> frames of <paramref name="side"/>² pixels in under a kilobyte (each frame: clear, end).</summary>
    public static byte[] GifWithFrames(int side, int frames)
    {
        var b = new List<byte>();
        b.AddRange("GIF89a"u8.ToArray());
        b.AddRange(BitConverter.GetBytes((ushort)side)); b.AddRange(BitConverter.GetBytes((ushort)side));
        b.Add(0x80); b.Add(0); b.Add(0);                      // global colour table of 2 entries
        b.AddRange(new byte[] { 0, 0, 0, 255, 255, 255 });
        for (int f = 0; f < frames; f++)
        {
            b.AddRange(new byte[] { 0x21, 0xF9, 4, 0, 1, 0, 0, 0 });        // graphic control: delay 1
            b.Add(0x2C); b.AddRange(new byte[4]);
            b.AddRange(BitConverter.GetBytes((ushort)side)); b.AddRange(BitConverter.GetBytes((ushort)side));
            b.Add(0);
            b.Add(2); b.AddRange(new byte[] { 1, 0x2C, 0 });                  // LZW min code 2: clear (4), end (5)
        }
        b.Add(0x3B);
        return b.ToArray();
    }

    [Theory]
    [InlineData(30000, 30000)]   // 156 KB in the report; 3.5 GB and an int overflow of new float[3 * plane]
    [InlineData(24000, 24000)]   // 20 GB with ImageSharp's default configuration
    [InlineData(65535, 65535)]   // w × h × 3 beyond int
    public void HugeImageHeaderIsRefusedByNameBeforeDecoding(int width, int height)
    {
        using var dir = new FaultDir();
        string path = dir[$"huge-{width}.png"];
        File.WriteAllBytes(path, PngWithHeaderSize(width, height));
        Assert.True(new FileInfo(path).Length < 1000);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = FaultAssert.Within(30, () => Assert.Throws<InvalidDataException>(() => ImageFolder.Decode(path, 3)));
        FaultAssert.OneLine(e.Message, path, $"{width}×{height}", "MaxPixels", "refused before decoding");
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64 << 20, "the refusal allocated the image");
        FaultAssert.OneLine(Assert.Throws<InvalidDataException>(() => ImageFolder.Identify(path)).Message, path);
    }

    [Fact]
    public void ManyFrameGifDecodesOnlyItsFirstFrame()
    {
        using var dir = new FaultDir();
        string path = dir["frames.gif"];
        File.WriteAllBytes(path, GifWithFrames(4000, 40));
        Assert.True(new FileInfo(path).Length < 1000);
        using (var image = Image.Load<Rgba32>(ImageFolder.DecoderConfiguration, path))
            Assert.Equal(1, image.Frames.Count);   // 40 × 64 MB with the default configuration
        var decoded = FaultAssert.Within(60, () => ImageFolder.Decode(path, 1));
        Assert.Equal((1, 4000, 4000), (decoded.Channels, decoded.Height, decoded.Width));
    }

    [Fact]
    public void DecoderConfigurationHasAnAllocationLimit()
    {
        var c = ImageFolder.DecoderConfiguration;
        Assert.NotSame(Configuration.Default, c);
        // the allocator refuses a single buffer far beyond the pixel cap
        Assert.ThrowsAny<SixLabors.ImageSharp.Memory.InvalidMemoryOperationException>(() =>
        {
            using var buffer = c.MemoryAllocator.Allocate<Rgba32>(checked((int)Math.Min(int.MaxValue / 4, ImageFolder.MaxPixels * 4)));
        });
    }

    [Fact]
    public void BatchBufferBeyondAnArrayIsRefusedNamingBatch()
    {
        // --batch 60000 with a 224-px RGB model: 9.0e9 floats (was "Destination array was not long enough" after 28 s)
        var e = FaultAssert.Refuses<ArgumentException>(() => BufferSizes.CheckBatch(60000, 3, 224, 224), "--batch 60000", "60000×3×224×224", "largest batch");
        Assert.Contains($"is {Array.MaxLength / (3 * 224 * 224)}", e.Message);
        FaultAssert.Refuses<ArgumentException>(() => BufferSizes.CheckBatch(long.MaxValue / 2, 3, 224, 224), "overflows");
        // beyond the memory available (given here as 1 GB)
        FaultAssert.Refuses<ArgumentException>(() => BufferSizes.CheckBatch(4096, 3, 224, 224, copies: 4, availableBytes: 1L << 30), "--batch 4096", "GB of memory available");
        Assert.Equal(256L * 3 * 224 * 224, BufferSizes.CheckBatch(256, 3, 224, 224, copies: 4, availableBytes: 8L << 30));
    }

    sealed class ManyItems(int count) : IImageDataset
    {
        public int Count => count;
        public int Channels => 3;
        public int? Height => null;
        public int? Width => null;
        public int NumClasses => 1;
        public IReadOnlyList<string> ClassNames => ["x"];
        public (FloatImage Image, int Label) Get(int index) => throw new InvalidOperationException("no item is decoded before the check");
        public int GetLabel(int index) => 0;
        public string Describe(int index) => $"item {index}";
    }

    [Fact]
    public void BatchLoaderChecksBufferSizesBeforeAnyWork()
    {
        var transform = Transforms.Pretrain(224, Normalization.ImageNet);
        var e = FaultAssert.Refuses<ArgumentException>(() => new BatchLoader(new ManyItems(60000), 60000, transform), "--batch 60000");
        var fits = new BatchLoader(new ManyItems(60000), 64, transform);   // 64 images of 224² fit: accepted as asked
        Assert.Equal((64, 937), (fits.BatchSize, fits.BatchesPerEpoch));   // 60,000 / 64, the last partial batch dropped
    }
}

using System.Diagnostics;
using MaeDsl.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace MaeDsl.Tests.Data;

/// <summary>Runs alone: the process's memory is measured, so no other test may allocate meanwhile.</summary>
[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement;

[Collection(nameof(MemoryMeasurement))]
public class StreamingMemoryTests(ITestOutputHelper output)
{
    const int Images = 5000, Side = 64, Batch = 50;

    [Fact]
    [Trait("Category", "Slow")]
    public void Streaming_5000_images_stays_within_a_memory_ceiling()
    {
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        using var dir = new TempDir();
        var timer = Stopwatch.StartNew();
        Parallel.For(0, Images, i =>
        {
            string classDir = Path.Combine(dir.Path, $"class{i % 5}");
            Directory.CreateDirectory(classDir);
            using var image = new Image<Rgb24>(Side, Side);
            var rng = Seeds.Random(99, i);
            byte r = (byte)rng.Next(256), g = (byte)rng.Next(256);
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                    image[x, y] = new Rgb24((byte)(r + x), (byte)(g + y), (byte)(x * y));
            image.SaveAsPng(Path.Combine(classDir, $"{i:D5}.png"));
        });
        output.WriteLine($"wrote {Images} PNGs in {timer.Elapsed.TotalSeconds:F1} s");

        var dataset = new ImageFolder(dir.Path, channels: 3);
        Assert.Equal(Images, dataset.Count);
        var loader = new BatchLoader(dataset, Batch, Transforms.Pretrain(Side, Normalization.ImageNet), seed: 1, prefetch: 2);
        // What holding the whole decoded set would take: 5000 × 3 × 64 × 64 float32 = 245.8 MB.
        long wholeSet = (long)Images * 3 * Side * Side * sizeof(float);

        using var process = Process.GetCurrentProcess();
        long baseManaged = 0, baseWorkingSet = 0, peakManaged = 0, peakWorkingSet = 0;
        int batches = 0, items = 0;
        timer.Restart();
        foreach (var batch in loader.Epoch(0))
        {
            using (batch)
            {
                items += batch.Size;
                batches++;
                if (batches == 5)
                {
                    // Baseline after warm-up (JIT, ImageSharp's and libtorch's first allocations, the loader's buffers).
                    baseManaged = GC.GetTotalMemory(forceFullCollection: true);
                    process.Refresh();
                    baseWorkingSet = process.WorkingSet64;
                }
                else if (batches > 5 && batches % 5 == 0)
                {
                    peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(forceFullCollection: true) - baseManaged);
                    process.Refresh();
                    peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64 - baseWorkingSet);
                }
            }
        }
        output.WriteLine($"streamed {items} images in {batches} batches in {timer.Elapsed.TotalSeconds:F1} s; " +
                         $"live managed growth ≤ {peakManaged / 1e6:F1} MB, working-set growth ≤ {peakWorkingSet / 1e6:F1} MB, whole decoded set {wholeSet / 1e6:F1} MB");
        Assert.Equal(Images, items);
        // One batch in float is 50 × 3 × 64 × 64 × 4 = 2.5 MB; prefetch 2 + the one being filled + the consumer's
        // copy is ~10 MB. Retaining decoded images would grow by up to the whole set (245.8 MB).
        Assert.True(peakManaged < 32_000_000, $"live managed memory grew by {peakManaged / 1e6:F1} MB while streaming (ceiling 32 MB; the whole set is {wholeSet / 1e6:F1} MB)");
        Assert.True(peakWorkingSet < 96_000_000, $"working set grew by {peakWorkingSet / 1e6:F1} MB while streaming (ceiling 96 MB; the whole set is {wholeSet / 1e6:F1} MB)");
    }
}

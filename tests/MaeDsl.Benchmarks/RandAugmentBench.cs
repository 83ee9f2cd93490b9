// RandAugmentBench: the fine-tuning loader's throughput without and with RandAugment.
using MaeDsl.Data;
using MaeDsl.Training.FineTuning;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `randaugment [--size 224] [--channels 3] [--images 512] [--batch 64] [--workers 2] [--rounds 3]`: images/s of the
/// fine-tuning loader (synthetic images of side size + 32 → RandomResizedCrop → flip → [RandAugment] → normalise →
/// batch tensor) with --aa none and with main_finetune.py's rand-m9-mstd0.5-inc1, timed interleaved, median of the rounds.
/// </summary>
static class RandAugmentBench
{
    public static int Run(Options options)
    {
        int size = options.Int("--size", 224), channels = options.Int("--channels", 3), images = options.Int("--images", 512);
        int batch = options.Int("--batch", 64), workers = options.Int("--workers", 2), rounds = options.Int("--rounds", 3);
        var data = new SyntheticDataset(images, channels, size + 32, size + 32, numClasses: 8, seed: 1);
        var normalization = channels == 3 ? Normalization.ImageNet : Normalization.FashionMnist;
        Console.WriteLine($"randaugment: fine-tune loader, {images} synthetic {channels}×{size + 32}² images → {size}², batch {batch}, {workers} workers, median of {rounds} rounds; {Machine()}");
        int epoch = 0;
        Action Epoch(string aa) => () =>
        {
            var loader = new BatchLoader(data, batch, FineTuner.TrainTransform(size, channels, normalization, 0.08, aa), shuffle: true, dropLast: true, seed: 3, workers: workers);
            foreach (var b in loader.Epoch(epoch++)) b.Dispose();
        };
        var seconds = Interleaved(rounds, Epoch("none"), Epoch(RandAugmentConfig.FineTuneDefault));
        int perEpoch = images / batch * batch;
        double without = perEpoch / Median(seconds[0]), with = perEpoch / Median(seconds[1]);
        Console.WriteLine($"randaugment size={size} channels={channels} workers={workers} none_img_per_s={F(without, 1)} rand_m9_img_per_s={F(with, 1)} ratio={F(with / without, 3)}");
        return 0;
    }
}

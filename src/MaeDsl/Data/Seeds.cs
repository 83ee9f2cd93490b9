// Seeds: the one derivation of every random stream from (seed, stream, epoch, step).
using TorchSharp;

namespace MaeDsl.Data;

/// <summary>
/// The one place where random streams are derived. Every random draw of a run (data order, crops, flips,
/// masking noise, Mixup/CutMix, random erasing) comes from a generator seeded by <c>Derive(seed, stream, epoch, step/index…)</c>,
/// never from a global generator that is reseeded or advanced: <see cref="System.Random"/> has no state that
/// could be saved in a checkpoint, so a resumed run re-derives exactly the generators the uninterrupted run
/// would have used at the same (epoch, step).
/// </summary>
/// <remarks>
/// The mixing function is SplitMix64's finaliser (Steele, Lea and Flood 2014). Each element of the path is
/// folded in with a distinct odd constant, so <c>Derive(s, 1, 2)</c> and <c>Derive(s, 2, 1)</c> differ and
/// neighbouring epochs/indices give unrelated streams. <see cref="Random(long, long[])"/> seeds
/// <see cref="System.Random"/>'s seeded (legacy, stable across .NET versions) algorithm.
/// </remarks>
internal static class Seeds
{
    /// <summary>Well-known stream ids, the first element of a derivation path, so that two consumers never share a stream.</summary>
    public static class Streams
    {
        /// <summary>The permutation of the dataset for an epoch: path (DataOrder, epoch).</summary>
        public const long DataOrder = 1;
        /// <summary>Per-item augmentation (crop, flip, RandAugment): path (Augment, epoch, dataset index).</summary>
        public const long Augment = 2;
        /// <summary>MAE masking noise: path (MaskNoise, epoch, step) by convention of the training runners.</summary>
        public const long MaskNoise = 3;
        /// <summary>Fine-tuning augmentation: Mixup / CutMix (sub-index 0) and random erasing (sub-indices 1, 2) of (epoch, step).</summary>
        public const long Mixup = 5;
        /// <summary>Synthetic data content: path (Synthetic, index).</summary>
        public const long Synthetic = 7;
        /// <summary>The class-balanced subset of a limit (--train-limit, --eval-limit): path (Subset, class).</summary>
        public const long Subset = 11;
    }

    const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>SplitMix64's output function: a bijective 64-bit mix.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Derives a 64-bit seed from a run seed and a path such as (stream, epoch, step).</summary>
    public static long Derive(long seed, params long[] path)
    {
        ArgumentNullException.ThrowIfNull(path);
        ulong h = Mix(unchecked((ulong)seed + Golden));
        for (int i = 0; i < path.Length; i++)
            h = Mix(h ^ Mix(unchecked((ulong)path[i] + Golden * (ulong)(2 * i + 3))));
        return unchecked((long)h);
    }

    /// <summary>A <see cref="System.Random"/> seeded from <see cref="Derive"/>; create one per (epoch, step/item), never share it across them.</summary>
    public static Random Random(long seed, params long[] path)
    {
        long d = Derive(seed, path);
        return new Random(unchecked((int)(d ^ (d >>> 32))) & int.MaxValue);
    }

    /// <summary>A uniform double in [0, 1) that depends only on (seed, path).</summary>
    public static double Uniform(long seed, params long[] path)
        => ((ulong)Derive(seed, path) >> 11) * (1.0 / (1UL << 53));

    /// <summary>A CPU <see cref="torch.Generator"/> seeded from <see cref="Derive"/>, e.g. for masking noise:
    /// <c>torch.rand(shape, generator: Seeds.Generator(seed, Seeds.Streams.MaskNoise, epoch, step))</c>.</summary>
    public static torch.Generator Generator(long seed, params long[] path)
        => new torch.Generator(unchecked((ulong)Derive(seed, path)));
}

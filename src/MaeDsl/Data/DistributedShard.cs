// DistributedShard: one rank's part of every epoch's order in data-parallel training, as PyTorch's DistributedSampler.
namespace MaeDsl.Data;

/// <summary>
/// Rank <see cref="Rank"/> of <see cref="Size"/>'s part of an epoch's order, as PyTorch's <c>DistributedSampler</c>
/// takes it: the order (the same permutation on every rank, drawn from the run seed and the epoch) is padded to a
/// multiple of <see cref="Size"/> by repeating its beginning, and rank r takes positions r, r + Size, r + 2·Size, …
/// (with <c>dropTail</c>, the tail beyond a multiple of Size is dropped instead). The shards of all ranks are
/// disjoint and cover the order.
/// </summary>
/// <remarks>
/// The property that makes a data-parallel run comparable with one process: with B items per rank and batch, the
/// union of batch k over the ranks is batch k of one process with batch Size·B over the same order (positions
/// kSB … (k+1)SB − 1); rank r's item j of that batch is the single process's item <c>GlobalRow(j, B)</c> = r + Size·j.
/// Per-item randomness keyed by the dataset index (augmentation) is then identical; randomness drawn per batch (masking
/// noise) must be drawn for the global batch and its rows <see cref="GlobalRows"/> taken to match.
/// </remarks>
internal readonly record struct DistributedShard
{
    /// <param name="rank">This process's rank, 0 … size − 1.</param>
    /// <param name="size">The number of ranks (≥ 1).</param>
    public DistributedShard(int rank, int size)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), $"DistributedShard: size must be ≥ 1, got {size}.");
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), $"DistributedShard: rank must be in 0 … {size - 1}, got {rank}.");
        Rank = rank; Size = size;
    }

    /// <summary>The whole order: rank 0 of 1.</summary>
    public static DistributedShard Whole => new(0, 1);

    public int Rank { get; }
    public int Size { get; }

    /// <summary>The number of items each rank takes from an order of <paramref name="count"/> items (the same on every rank).</summary>
    public int Length(int count, bool dropTail = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return dropTail ? count / Size : (int)(((long)count + Size - 1) / Size);
    }

    /// <summary>This rank's items of <paramref name="order"/>: positions Rank, Rank + Size, … of the order padded (or cut, with
    /// <paramref name="dropTail"/>) to a multiple of Size.</summary>
    public int[] Take(IReadOnlyList<int> order, bool dropTail = false)
    {
        ArgumentNullException.ThrowIfNull(order);
        int length = Length(order.Count, dropTail);
        if (length > 0 && order.Count == 0) return [];
        var shard = new int[length];
        for (int j = 0; j < length; j++)
            shard[j] = order[(int)(((long)Rank + (long)Size * j) % order.Count)];   // positions past the end repeat the beginning
        return shard;
    }

    /// <summary>Where item <paramref name="j"/> of this rank's batch of <paramref name="batchSize"/> sits in the single process's
    /// batch of Size·batchSize: Rank + Size·j.</summary>
    public int GlobalRow(int j, int batchSize)
    {
        if (j < 0 || j >= batchSize) throw new ArgumentOutOfRangeException(nameof(j), $"DistributedShard: item {j} is not in a batch of {batchSize}.");
        return Rank + Size * j;
    }

    /// <summary>The rows of the global batch (Size·batchSize rows) that this rank's batch of <paramref name="batchSize"/> holds, in order.</summary>
    public long[] GlobalRows(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        var rows = new long[batchSize];
        for (int j = 0; j < batchSize; j++) rows[j] = Rank + (long)Size * j;
        return rows;
    }
}

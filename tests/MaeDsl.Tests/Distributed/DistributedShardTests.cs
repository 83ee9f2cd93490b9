using MaeDsl.Data;

namespace MaeDsl.Tests.Distributed;

/// <summary>DistributedShard: PyTorch DistributedSampler's split of an epoch's order, and the batch correspondence the equivalence test relies on.</summary>
public class DistributedShardTests
{
    static int[] Order(int count, int epoch, long seed = 7) => new BatchLoader(new SyntheticDataset(count), 1, seed: seed).Order(epoch);

    [Theory]
    [InlineData(12, 2)]
    [InlineData(13, 2)]
    [InlineData(10, 3)]
    [InlineData(2, 5)]
    [InlineData(1000, 4)]
    public void Shards_are_disjoint_positions_that_cover_the_order(int count, int size)
    {
        var order = Order(count, epoch: 3);
        var shards = Enumerable.Range(0, size).Select(r => new DistributedShard(r, size).Take(order)).ToArray();
        int length = (count + size - 1) / size;
        Assert.All(shards, s => Assert.Equal(length, s.Length));
        // the padded order, split round-robin: position p of the padded order is rank p % size's item p / size
        for (int p = 0; p < length * size; p++)
            Assert.Equal(order[p % count], shards[p % size][p / size]);
        Assert.Equal(Enumerable.Range(0, count), shards.SelectMany(s => s).Distinct().Order());
        // without padding, no index is served twice
        if (count % size == 0) Assert.Equal(count, shards.SelectMany(s => s).Distinct().Count());
        else Assert.Equal(size - count % size, length * size - shards.SelectMany(s => s).Distinct().Count());
    }

    [Fact]
    public void DropTail_cuts_the_order_to_a_multiple_of_the_size_as_drop_last_does()
    {
        var order = Order(13, epoch: 0);
        var shards = Enumerable.Range(0, 4).Select(r => new DistributedShard(r, 4).Take(order, dropTail: true)).ToArray();
        Assert.All(shards, s => Assert.Equal(3, s.Length));
        Assert.Equal(order.Take(12).Order(), shards.SelectMany(s => s).Order());
        Assert.Equal(3, new DistributedShard(0, 4).Length(13, dropTail: true));
        Assert.Equal(4, new DistributedShard(0, 4).Length(13));
    }

    [Fact]
    public void A_shard_depends_only_on_seed_and_epoch()
    {
        var shard = new DistributedShard(1, 3);
        Assert.Equal(shard.Take(Order(50, epoch: 2)), shard.Take(Order(50, epoch: 2)));
        Assert.NotEqual(shard.Take(Order(50, epoch: 2)), shard.Take(Order(50, epoch: 3)));
        Assert.NotEqual(shard.Take(Order(50, epoch: 2, seed: 7)), shard.Take(Order(50, epoch: 2, seed: 8)));
    }

    [Fact]
    public void One_rank_takes_the_whole_order_unchanged()
    {
        var order = Order(17, epoch: 1);
        Assert.Equal(order, DistributedShard.Whole.Take(order));
        Assert.Equal(order, DistributedShard.Whole.Take(order, dropTail: true));
    }

    [Theory]
    [InlineData(2, 4, 64)]
    [InlineData(3, 5, 90)]
    [InlineData(4, 2, 37)]
    public void Batch_k_of_every_rank_together_is_batch_k_of_one_process_with_size_times_the_batch(int size, int batch, int count)
    {
        var order = Order(count, epoch: 5);
        var shards = Enumerable.Range(0, size).Select(r => new DistributedShard(r, size).Take(order, dropTail: true)).ToArray();
        int steps = count / (size * batch);   // one process, batch size·B, dropLast
        Assert.Equal(steps, shards[0].Length / batch);   // every rank (batch B, dropLast) takes as many steps
        for (int k = 0; k < steps; k++)
        {
            var global = order.Skip(k * size * batch).Take(size * batch).ToArray();
            var union = new int[size * batch];
            for (int r = 0; r < size; r++)
            {
                var shard = new DistributedShard(r, size);
                var mine = shards[r].Skip(k * batch).Take(batch).ToArray();
                var rows = shard.GlobalRows(batch);
                for (int j = 0; j < batch; j++)
                {
                    Assert.Equal(rows[j], shard.GlobalRow(j, batch));
                    Assert.Equal(global[rows[j]], mine[j]);   // the item sits at its global row
                    union[rows[j]] = mine[j];
                }
            }
            Assert.Equal(global, union);
        }
    }

    [Fact]
    public void Bad_ranks_and_sizes_are_refused_with_their_values()
    {
        Assert.Contains("got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedShard(0, 0)).Message);
        Assert.Contains("0 … 1, got 2", Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedShard(2, 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedShard(-1, 2));
        Assert.Empty(new DistributedShard(1, 2).Take([]));
    }
}

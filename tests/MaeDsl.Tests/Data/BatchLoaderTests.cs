using MaeDsl.Data;

namespace MaeDsl.Tests.Data;

public class BatchLoaderTests
{
    public BatchLoaderTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    static readonly SyntheticDataset Data = new(53, channels: 2, height: 16, width: 16, numClasses: 5, seed: 11);

    static List<(float[] Images, long[] Labels, int[] Indices)> Collect(BatchLoader loader, int epoch, int firstBatch = 0)
    {
        var result = new List<(float[], long[], int[])>();
        foreach (var batch in loader.Epoch(epoch, firstBatch))
            using (batch)
                result.Add((batch.Images.data<float>().ToArray(), batch.Labels.data<long>().ToArray(), batch.Indices));
        return result;
    }

    [Fact]
    public void Shapes_dtypes_drop_last_and_labels()
    {
        var loader = new BatchLoader(Data, 8, Transforms.Pretrain(16, Normalization.Compute(Data)), seed: 1);
        Assert.Equal(6, loader.BatchesPerEpoch);
        int n = 0;
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                Assert.Equal(new long[] { 8, 2, 16, 16 }, batch.Images.shape);
                Assert.Equal(ScalarType.Float32, batch.Images.dtype);
                Assert.Equal(ScalarType.Int64, batch.Labels.dtype);
                Assert.Equal(batch.Indices.Select(i => (long)Data.GetLabel(i)), batch.Labels.data<long>().ToArray());
                Assert.Equal(n++, batch.Index);
            }
        Assert.Equal(6, n);

        var keepLast = new BatchLoader(Data, 8, null, shuffle: false, dropLast: false);
        var batches = Collect(keepLast, 0);
        Assert.Equal(7, batches.Count);
        Assert.Equal(5, batches[^1].Indices.Length);
        Assert.Equal(Enumerable.Range(0, 53), batches.SelectMany(b => b.Indices));   // no shuffle: dataset order
    }

    [Fact]
    public void Batches_hold_the_transformed_items_of_their_indices()
    {
        var loader = new BatchLoader(Data, 8, Transforms.Pretrain(12, Normalization.Compute(Data)), seed: 3, prefetch: 1);
        var batches = Collect(loader, 2);   // all kept: a reused buffer would show here
        foreach (var (images, _, indices) in batches)
            for (int k = 0; k < indices.Length; k++)
            {
                var expected = loader.GetTransformed(2, indices[k]).Data;
                Assert.Equal(expected, images.AsSpan(k * expected.Length, expected.Length).ToArray());
            }
    }

    [Fact]
    public void Each_epoch_is_a_permutation_that_depends_only_on_seed_and_epoch()
    {
        var a = new BatchLoader(Data, 10, Transforms.Pretrain(16, Normalization.Compute(Data)), seed: 7, workers: 1, prefetch: 1);
        var b = new BatchLoader(Data, 10, Transforms.Pretrain(16, Normalization.Compute(Data)), seed: 7, workers: 4, prefetch: 3);
        var epoch1a = Collect(a, 1);
        var epoch1b = Collect(b, 1);
        Assert.Equal(epoch1a.Count, epoch1b.Count);
        for (int i = 0; i < epoch1a.Count; i++)
        {
            Assert.Equal(epoch1a[i].Indices, epoch1b[i].Indices);
            Assert.Equal(epoch1a[i].Images, epoch1b[i].Images);   // bit for bit, whatever the thread count
        }
        var order1 = a.Order(1);
        Assert.Equal(Enumerable.Range(0, 53), order1.Order());
        Assert.NotEqual(order1, a.Order(2));
        Assert.NotEqual(order1, new BatchLoader(Data, 10, seed: 8).Order(1));
        Assert.NotEqual(Enumerable.Range(0, 53), order1);
    }

    [Fact]
    public void Resuming_mid_epoch_yields_exactly_the_remaining_batches()
    {
        var loader = new BatchLoader(Data, 6, Transforms.Pretrain(16, Normalization.Compute(Data)), seed: 21);
        var full = Collect(loader, 4);
        var resumed = Collect(new BatchLoader(Data, 6, Transforms.Pretrain(16, Normalization.Compute(Data)), seed: 21), 4, firstBatch: 3);
        Assert.Equal(full.Count - 3, resumed.Count);
        for (int i = 0; i < resumed.Count; i++)
        {
            Assert.Equal(full[i + 3].Indices, resumed[i].Indices);
            Assert.Equal(full[i + 3].Images, resumed[i].Images);
        }
    }

    sealed class Failing(IImageDataset inner, int bad) : IImageDataset
    {
        public int Count => inner.Count;
        public int Channels => inner.Channels;
        public int? Height => inner.Height;
        public int? Width => inner.Width;
        public int NumClasses => inner.NumClasses;
        public IReadOnlyList<string> ClassNames => inner.ClassNames;
        public (FloatImage Image, int Label) Get(int index) => index == bad ? throw new InvalidDataException($"item {index} is broken") : inner.Get(index);
        public int GetLabel(int index) => inner.GetLabel(index);
        public string Describe(int index) => inner.Describe(index);
    }

    [Fact]
    public void Errors_reach_the_consumer_and_early_exit_stops_the_producer()
    {
        var loader = new BatchLoader(new Failing(Data, 30), 5, null, shuffle: false);
        var seen = new List<int>();
        var ex = Assert.Throws<InvalidDataException>(() => { foreach (var b in loader.Epoch(0)) using (b) seen.Add(b.Index); });
        Assert.Contains("item 30 is broken", ex.Message);
        Assert.Equal(Enumerable.Range(0, 6), seen);   // batches 0..5 came through, batch 6 holds item 30

        var ok = new BatchLoader(Data, 5, null, shuffle: false, prefetch: 1);
        foreach (var b in ok.Epoch(0)) { b.Dispose(); break; }   // must not hang or throw
        Assert.Equal(10, Collect(ok, 0).Count);
    }

    [Fact]
    public void Bad_arguments_are_named()
    {
        Assert.Contains("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchLoader(Data, 0)).Message);
        Assert.Contains("fewer than one batch", Assert.Throws<ArgumentException>(() => new BatchLoader(Data, 100)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchLoader(Data, 5).Epoch(0, firstBatch: 11));
    }
}

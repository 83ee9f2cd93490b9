// BatchLoader: a prefetching, deterministic (seed, epoch) batch loader, and its Batch.
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using MaeDsl.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Data;

/// <summary>
/// One batch: images float32 [B, C, H, W] and labels int64 [B], created on the consuming thread (so they join
/// the caller's current <c>DisposeScope</c>, if any). Dispose it (or let the step's scope do it).
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(Tensor images, Tensor labels, int epoch, int index, int[] indices)
    {
        Images = images; Labels = labels; Epoch = epoch; Index = index; Indices = indices;
    }

    /// <summary>float32 [B, C, H, W], transformed (normalised) images.</summary>
    public Tensor Images { get; }
    /// <summary>int64 [B] class labels.</summary>
    public Tensor Labels { get; }
    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; }
    /// <summary>The batch's position in its epoch (0-based).</summary>
    public int Index { get; }
    /// <summary>The dataset indices of the items, in batch order.</summary>
    public int[] Indices { get; }
    /// <summary>Number of items.</summary>
    public int Size => Indices.Length;

    public void Dispose() { Images.Dispose(); Labels.Dispose(); }

    /// <summary>The batches of a <see cref="BatchLoader"/> epoch as (images, labels) pairs; each batch is disposed once the next is asked for.</summary>
    public static IEnumerable<(Tensor Images, Tensor Labels)> Pairs(IEnumerable<Batch> batches)
    {
        foreach (var b in batches)
        {
            using (b) yield return (b.Images, b.Labels);
        }
    }
}

/// <summary>
/// Streams a dataset as batches, like torch's DataLoader with a prefetching worker: a background producer
/// decodes and transforms the items of a batch in parallel (<see cref="Workers"/> threads) and keeps at most
/// <see cref="Prefetch"/> finished batches in a bounded channel; the whole set is never held in memory.
/// </summary>
/// <remarks>
/// Reproducibility: the order of epoch e is a Fisher–Yates shuffle drawn from
/// <c>Seeds.Random(seed, Streams.DataOrder, e)</c> (or 0…N−1 without shuffling); item i of epoch e is transformed
/// with its own <c>Seeds.Random(seed, Streams.Augment, e, i)</c>. Nothing depends on what was drawn before, so
/// <c>Epoch(e, firstBatch: k)</c> after a resume yields exactly the batches k, k+1, … of the uninterrupted run,
/// whatever the number of threads.
/// </remarks>
public sealed class BatchLoader
{
    readonly ConcurrentBag<float[]> buffers = new();

    /// <param name="dataset">The items.</param>
    /// <param name="batchSize">Items per batch.</param>
    /// <param name="transform">Per-item transform (e.g. <see cref="Transforms.Pretrain"/>); null keeps the images as they are (they must then all have the same
    /// size).</param>
    /// <param name="shuffle">Shuffle each epoch (training) or keep dataset order (evaluation).</param>
    /// <param name="dropLast">Drop the last incomplete batch.</param>
    /// <param name="seed">The run seed all streams are derived from.</param>
    /// <param name="prefetch">Finished batches kept ahead of the consumer (≥ 1).</param>
    /// <param name="workers">Threads that decode/transform the items of a batch; 0 = <see cref="Environment.ProcessorCount"/>.</param>
    public BatchLoader(IImageDataset dataset, int batchSize, IImageTransform? transform = null, bool shuffle = true,
        bool dropLast = true, long seed = 0, int prefetch = 2, int workers = 0)
    {
        Dataset = dataset ?? throw new ArgumentNullException(nameof(dataset));
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"BatchLoader: batchSize must be positive, got {batchSize}.");
        if (prefetch <= 0) throw new ArgumentOutOfRangeException(nameof(prefetch), $"BatchLoader: prefetch must be ≥ 1, got {prefetch}.");
        if (workers < 0) throw new ArgumentOutOfRangeException(nameof(workers), $"BatchLoader: workers must be ≥ 0 (0 = all cores), got {workers}.");
        BatchSize = batchSize; Transform = transform; Shuffle = shuffle; DropLast = dropLast; Seed = seed;
        Prefetch = prefetch; Workers = workers == 0 ? Environment.ProcessorCount : workers;
        if (dropLast && dataset.Count < batchSize)
            throw new ArgumentException(
                $"BatchLoader: the dataset has {dataset.Count} items, fewer than one batch of {batchSize} with dropLast: every epoch would be empty.",
                nameof(batchSize));
        // the batch buffers must fit an array and the memory before any work (--batch 60000 with a 224-px model does not)
        if (BufferSizes.OutputSide(transform) is int side)
            BufferSizes.CheckBatch(batchSize, dataset.Channels, side, side, copies: Prefetch + 2);
        else if (transform is null && dataset.Height is int h && dataset.Width is int w)
            BufferSizes.CheckBatch(batchSize, dataset.Channels, h, w, copies: Prefetch + 2);
    }

    public IImageDataset Dataset { get; }
    public int BatchSize { get; }
    public IImageTransform? Transform { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public long Seed { get; }
    public int Prefetch { get; }

    /// <summary>
    /// The device the batches are for (null: the CPU). With CUDA each batch is made in pinned (page-locked) host memory, so the
    /// step's copy to the GPU (<see cref="Devices.To"/>) runs asynchronously; the batches stay on the CPU either way.
    /// </summary>
    public Device? PinnedFor { get; init; }

    volatile bool consumerWaiting;   // the enumerating thread waits for the next batch
    public int Workers { get; }

    static Tensor Pin(Tensor t, Device target)
    {
        var pinned = Devices.PinFor(t, target);
        if (!ReferenceEquals(pinned, t)) t.Dispose();
        return pinned;
    }

    /// <summary>
    /// This process's part of every epoch in data-parallel training (PyTorch's DistributedSampler): rank r serves positions
    /// r, r + Size, … of the epoch's order, padded to a multiple of Size. Default: the whole order.
    /// </summary>
    internal DistributedShard Shard { get; init; } = DistributedShard.Whole;

    /// <summary>The items this process serves per epoch: the dataset's, or its shard's.</summary>
    int ItemsPerEpoch => Shard.Length(Dataset.Count);

    /// <summary>Batches per epoch: N / B rounded down with dropLast, up without (N: <see cref="ItemsPerEpoch"/>).</summary>
    public int BatchesPerEpoch => DropLast ? ItemsPerEpoch / BatchSize : (ItemsPerEpoch + BatchSize - 1) / BatchSize;

    /// <summary>The dataset indices of epoch <paramref name="epoch"/> in the order they are served.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        if (Shuffle)
        {
            var rng = Seeds.Random(Seed, Seeds.Streams.DataOrder, epoch);
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
        return Shard.Size == 1 ? order : Shard.Take(order);
    }

    /// <summary>Item <paramref name="index"/> as the loader serves it in epoch <paramref name="epoch"/> (decoded and transformed).</summary>
    public FloatImage GetTransformed(int epoch, int index)
    {
        var image = Dataset.Get(index).Image;
        if (image.Channels != Dataset.Channels)
            throw new InvalidDataException($"{Dataset.Describe(index)}: decoded with {image.Channels} channels, the dataset declares {Dataset.Channels}.");
        return Transform is null ? image : Transform.Apply(image, Seeds.Random(Seed, Seeds.Streams.Augment, epoch, index));
    }

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>, from batch <paramref name="firstBatch"/> on (to resume mid-epoch).
    /// Stopping the enumeration early (break, exception, dispose) stops the producer.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int firstBatch = 0, CancellationToken cancellationToken = default)
    {
        if (firstBatch < 0 || firstBatch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(firstBatch), $"BatchLoader: firstBatch {firstBatch} is outside 0..{BatchesPerEpoch}.");
        return Iterate(epoch, firstBatch, cancellationToken);
    }

    sealed record Pending(int Index, int[] Indices, long[] Labels, float[] Pixels, long[] Shape);

    IEnumerable<Batch> Iterate(int epoch, int firstBatch, CancellationToken cancellationToken)
    {
        var order = Order(epoch);
        int batches = BatchesPerEpoch;
        var channel = Channel.CreateBounded<Pending>(new BoundedChannelOptions(Prefetch)
        {
            SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => Produce(channel.Writer, order, epoch, firstBatch, batches, stop.Token));
        try
        {
            while (true)
            {
                if (!channel.Reader.TryRead(out var pending))
                {
                    bool more;
                    consumerWaiting = true;   // the producer must not hold back a batch its consumer waits for (NoGcDuringTorch.WaitForRoom)
                    try { more = channel.Reader.WaitToReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult(); }
                    catch (AggregateException e) when (e.InnerExceptions.Count == 1) { ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); throw; }
                    finally { consumerWaiting = false; }
                    if (!more) break;
                    continue;
                }
                Tensor images, labels;
                try
                {
                    images = torch.tensor(pending.Pixels, pending.Shape, dtype: ScalarType.Float32);
                    labels = torch.tensor(pending.Labels, dtype: ScalarType.Int64);
                }
                finally { Return(pending.Pixels); }
                if (PinnedFor is { } target) (images, labels) = (Pin(images, target), Pin(labels, target));
                yield return new Batch(images, labels, epoch, pending.Index, pending.Indices);
            }
        }
        finally
        {
            stop.Cancel();
            while (channel.Reader.TryRead(out var left)) Return(left.Pixels);
            try { producer.Wait(); } catch (AggregateException) { /* cancelled, or its error was already thrown to the consumer */ }
            while (channel.Reader.TryRead(out var left)) Return(left.Pixels);
        }
    }

    async Task Produce(ChannelWriter<Pending> writer, int[] order, int epoch, int firstBatch, int batches, CancellationToken token)
    {
        Exception? error = null;
        try
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = Workers, CancellationToken = token };
            long batchBytes = 0;   // managed bytes the last batch took to build (decoded images, transform outputs)
            for (int b = firstBatch; b < batches; b++)
            {
                // a torch unit (a training step) may be running in a no-GC region: building this batch must not exhaust it
                NoGcDuringTorch.WaitForRoom(batchBytes, () => consumerWaiting, token);
                long allocatedBefore = GC.GetTotalAllocatedBytes(false);
                int start = b * BatchSize, size = Math.Min(BatchSize, order.Length - start);
                var indices = order.AsSpan(start, size).ToArray();
                var labels = new long[size];
                long[]? shape = null;
                float[]? pixels = null;
                var gate = new object();
                try
                {
                    Parallel.For(0, size, options, k =>
                    {
                        int index = indices[k];
                        var image = GetTransformed(epoch, index);
                        labels[k] = Dataset.GetLabel(index);
                        lock (gate)
                        {
                            if (shape is null)
                            {
                                shape = [size, image.Channels, image.Height, image.Width];
                                pixels = Rent((int)BufferSizes.CheckBatch(size, image.Channels, image.Height, image.Width));
                            }
                        }
                        if (image.Channels != shape[1] || image.Height != shape[2] || image.Width != shape[3])
                            throw new InvalidDataException(
                                $"{Dataset.Describe(index)}: after the transform it is {image.ShapeText}, other items of batch {b} of epoch {epoch} are " +
                                    $"{shape[1]}×{shape[2]}×{shape[3]}. " +
                                "Images of different sizes need a transform that crops/resizes to one size (e.g. Transforms.Pretrain or Transforms.Eval).");
                        Array.Copy(image.Data, 0, pixels!, (long)k * image.Data.Length, image.Data.Length);
                    });
                }
                catch (AggregateException e)
                {
                    if (pixels is not null) Return(pixels);
                    var first = e.Flatten().InnerExceptions.FirstOrDefault(x => x is not OperationCanceledException) ?? e.InnerExceptions[0];
                    ExceptionDispatchInfo.Capture(first).Throw();
                }
                catch { if (pixels is not null) Return(pixels); throw; }
                batchBytes = GC.GetTotalAllocatedBytes(false) - allocatedBefore;
                await writer.WriteAsync(new Pending(b, indices, labels, pixels!, shape!), token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested) { }
        catch (Exception e) { error = e; }
        finally { writer.TryComplete(error); }
    }

    float[] Rent(int length)
    {
        // At most Prefetch + 2 buffers exist (in the channel, being filled, being copied into a tensor).
        while (buffers.TryTake(out var b))
            if (b.Length == length) return b;
        return new float[length];
    }

    void Return(float[] buffer)
    {
        if (buffers.Count < Prefetch + 2) buffers.Add(buffer);
    }
}

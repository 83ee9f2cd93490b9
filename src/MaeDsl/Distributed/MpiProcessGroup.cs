// MpiProcessGroup: the ranks of an mpiexec launch, with DDP's bucketed gradient averaging on MPICH's in-place Allreduce.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace MaeDsl.Distributed;

/// <summary>
/// The MPI process group: MPI_COMM_WORLD of an MPICH launch. Every MPI call holds one lock (MPI_THREAD_SERIALIZED), so
/// the group may be used from any thread, one call at a time. Errors of MPI calls come back as
/// <see cref="DistributedException"/> (MPI_ERRORS_RETURN) instead of MPICH's multi-line abort.
/// </summary>
sealed class MpiProcessGroup : IProcessGroup
{
    readonly object gate = new();
    Tensor? bucket;   // the flat buffer of one bucket, reused (buckets are reduced one after the other)

    MpiProcessGroup(int rank, int size, string library)
    {
        Rank = rank; Size = size;
        Description = $"{library}, rank {rank} of {size}";
    }

    internal static MpiProcessGroup Initialize(int launchRank, int launchSize)
    {
        Mpich.Load();
        var (rank, size) = Mpich.Init();
        if (rank != launchRank || size != launchSize)
            throw new DistributedException($"MPI_COMM_WORLD is rank {rank} of {size} but the launcher said rank {launchRank} of {launchSize}: "
                + "is mpiexec from the same MPICH as the library?");
        return new MpiProcessGroup(rank, size, Mpich.LibraryVersion());
    }

    public int Rank { get; }
    public int Size { get; }
    public string Description { get; }
    internal bool Disposed { get; private set; }

    public void AverageGradients(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        lock (gate)
        {
            ThrowIfDisposed();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var grads = new List<Tensor>();
            foreach (var p in parameters)
                if (p.grad is { } g) grads.Add(g);
            long elements = 0;
            foreach (var g in grads)
            {
                if (g.device_type != DeviceType.CPU) throw new ArgumentException($"distributed averaging reads gradients on the CPU, one is on {g.device}");
                ProcessGroup.MpiType(g.dtype);
                elements += g.NumberOfElements;
            }
            CheckSameOnEveryRank(grads.Count, elements);
            foreach (var (first, count, bytes) in Buckets(grads))
                ReduceBucket(grads.GetRange(first, count), bytes);
        }
    }

    /// <summary>Consecutive runs of gradients of one dtype, each up to <see cref="ProcessGroup.BucketBytes"/> (a larger gradient is a bucket alone).</summary>
    static IEnumerable<(int First, int Count, long Bytes)> Buckets(List<Tensor> grads)
    {
        int first = 0;
        long bytes = 0;
        for (int i = 0; i < grads.Count; i++)
        {
            long b = grads[i].NumberOfElements * grads[i].ElementSize;
            if (i > first && (grads[i].dtype != grads[first].dtype || bytes + b > ProcessGroup.BucketBytes))
            {
                yield return (first, i - first, bytes);
                first = i; bytes = 0;
            }
            bytes += b;
        }
        if (grads.Count > first) yield return (first, grads.Count - first, bytes);
    }

    void ReduceBucket(List<Tensor> grads, long bytes)
    {
        var type = grads[0].dtype;
        if (grads.Count == 1 && grads[0].is_contiguous())
        {
            Allreduce(grads[0], Mpich.OpSum);   // in the gradient's own memory
            grads[0].div_(Size);
            return;
        }
        long elements = bytes / grads[0].ElementSize;
        if (bucket is null || bucket.dtype != type || bucket.NumberOfElements < elements)
        {
            bucket?.Dispose();
            bucket = empty(Math.Max(elements, ProcessGroup.BucketBytes / grads[0].ElementSize), dtype: type).DetachFromDisposeScope();
        }
        var flat = bucket.narrow(0, 0, elements);
        long offset = 0;
        foreach (var g in grads)
        {
            flat.narrow(0, offset, g.NumberOfElements).copy_(g.reshape(-1));
            offset += g.NumberOfElements;
        }
        Allreduce(flat, Mpich.OpSum);
        flat.div_(Size);
        offset = 0;
        foreach (var g in grads)
        {
            g.copy_(flat.narrow(0, offset, g.NumberOfElements).view(g.shape));
            offset += g.NumberOfElements;
        }
    }

    /// <summary>The gradient counts and sizes of all ranks agree, or every rank throws: one Allreduce(MAX) of (n, −n, e, −e).</summary>
    void CheckSameOnEveryRank(long count, long elements)
    {
        Span<long> v = [count, -count, elements, -elements];
        unsafe
        {
            fixed (long* p = v) Mpich.AllreduceInPlace((IntPtr)p, v.Length, Mpich.Int64, Mpich.OpMax);
        }
        if (v[0] != -v[1] || v[2] != -v[3])
            throw new DistributedException($"the ranks have gradients for different parameters ({-v[1]}–{v[0]} tensors, {-v[3]}–{v[2]} elements; "
                + $"rank {Rank}: {count} tensors, {elements} elements): every rank must compute the same gradients");
    }

    /// <summary>In-place Allreduce of a contiguous CPU tensor, in chunks that fit MPI's int count.</summary>
    void Allreduce(Tensor tensor, int op)
    {
        int type = ProcessGroup.MpiType(tensor.dtype);
        foreach (var (address, count) in Chunks(tensor)) Mpich.AllreduceInPlace(address, count, type, op);
    }

    static IEnumerable<(IntPtr Address, int Count)> Chunks(Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException($"a collective needs a contiguous CPU tensor, got {(tensor.is_contiguous() ? "" : "a non-contiguous ")}tensor on {tensor.device}");
        const long chunk = 1L << 26;   // elements per call: its bytes (≤ 512 MiB) fit MPI's int count and Span's int length
        using var flat = tensor.view(-1);
        for (long offset = 0; offset < flat.NumberOfElements; offset += chunk)
        {
            using var part = flat.narrow(0, offset, Math.Min(chunk, flat.NumberOfElements - offset));
            yield return (Address(part), (int)part.NumberOfElements);
        }
    }

    /// <summary>The address of a contiguous CPU tensor's first element (TorchSharp's <c>bytes</c> span is a view of libtorch's memory).</summary>
    static unsafe IntPtr Address(Tensor tensor) => (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));

    public void SumInPlace(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        lock (gate) { ThrowIfDisposed(); Allreduce(tensor, Mpich.OpSum); }
    }

    public unsafe double Average(double value)
    {
        lock (gate)
        {
            ThrowIfDisposed();
            Mpich.AllreduceInPlace((IntPtr)(&value), 1, Mpich.Double, Mpich.OpSum);
        }
        return value / Size;
    }

    public unsafe bool AnyRank(bool value)
    {
        int v = value ? 1 : 0;
        lock (gate)
        {
            ThrowIfDisposed();
            Mpich.AllreduceInPlace((IntPtr)(&v), 1, Mpich.Int, Mpich.OpLor);
        }
        return v != 0;
    }

    public unsafe bool AllEqual(long value)
    {
        long* v = stackalloc long[] { value, -value };
        lock (gate)
        {
            ThrowIfDisposed();
            Mpich.AllreduceInPlace((IntPtr)v, 2, Mpich.Int64, Mpich.OpMax);
        }
        return v[0] == -v[1];
    }

    public unsafe byte[] Broadcast(byte[]? data, int root = 0)
    {
        CheckRoot(root);
        if (Rank == root) ArgumentNullException.ThrowIfNull(data);
        lock (gate)
        {
            ThrowIfDisposed();
            long length = Rank == root ? data!.Length : 0;
            Mpich.Broadcast((IntPtr)(&length), 1, Mpich.Int64, root);
            var result = Rank == root ? data! : new byte[length];
            fixed (byte* p = result) Mpich.Broadcast((IntPtr)p, result.Length, Mpich.Byte, root);
            return result;
        }
    }

    public void BroadcastInPlace(IEnumerable<Tensor> tensors, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        CheckRoot(root);
        lock (gate)
        {
            ThrowIfDisposed();
            using var noGrad = no_grad();
            foreach (var t in tensors)
                foreach (var (address, count) in Chunks(t))
                    Mpich.Broadcast(address, count * (int)t.ElementSize, Mpich.Byte, root);
        }
    }

    public void Barrier()
    {
        lock (gate) { ThrowIfDisposed(); Mpich.Barrier(); }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void Abort(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        Mpich.Abort(code);   // does not take the lock: another thread may be blocked in a collective
        Environment.Exit(code);
        throw new InvalidOperationException("unreachable");
    }

    void CheckRoot(int root)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), $"root {root} is not a rank of {Size}");
    }

    void ThrowIfDisposed()
    {
        if (Disposed) throw new ObjectDisposedException(nameof(MpiProcessGroup), "the MPI process group was finalized");
    }

    /// <summary>MPI_Finalize: every rank must dispose its group (a rank that ends without it is a failure to mpiexec).</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (Disposed) return;
            Disposed = true;
            bucket?.Dispose();
            if (!Mpich.IsFinalized()) Mpich.Shutdown();
        }
    }
}

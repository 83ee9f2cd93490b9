// ProcessGroup: starts the group this process belongs to (MPI under mpiexec, else one process) and its shared helpers.
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Distributed;

/// <summary>Starts the process group of this process, and the helpers shared by its implementations.</summary>
internal static class ProcessGroup
{
    /// <summary>DDP's default bucket size (<c>bucket_cap_mb=25</c>).</summary>
    public const long BucketBytes = 25L << 20;

    static readonly object gate = new();
    static MpiProcessGroup? mpi;

    /// <summary>
    /// The group of this process: under MPICH's <c>mpiexec -n N</c> with N ≥ 2, the MPI group (MPICH's library is loaded
    /// and MPI initialised here, once per process: later calls return the same group); without a launcher or with one
    /// rank, a single-process group that loads nothing.
    /// </summary>
    /// <exception cref="DistributedException">Open MPI's launcher, MPICH's library missing, or MPI_Init failing.</exception>
    public static IProcessGroup Start()
    {
        var (rank, size) = MpiLaunch.Detect();
        if (size == 1) return new SingleProcessGroup();
        lock (gate)
        {
            if (mpi is { Disposed: false }) return mpi;
            if (mpi is not null) throw new DistributedException("the MPI process group was disposed (MPI_Finalize): MPI cannot start twice in one process");
            mpi = MpiProcessGroup.Initialize(rank, size);
            return mpi;
        }
    }

    /// <summary>A single-process group (rank 0 of 1): every collective is the identity.</summary>
    public static IProcessGroup Single() => new SingleProcessGroup();

    /// <summary>
    /// A 64-bit checksum of the tensors' bits (values, dtypes and shapes), e.g. of a model's parameters: compare it across
    /// ranks with <see cref="IProcessGroup.AllEqual"/> to check that every rank built the same initial weights.
    /// </summary>
    public static long Checksum(IEnumerable<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ulong h = 0x9E3779B97F4A7C15UL;
        foreach (var t in tensors)
        {
            h = Data.Seeds.Mix(h ^ (ulong)t.dtype);
            foreach (var d in t.shape) h = Data.Seeds.Mix(h ^ (ulong)d);
            using var scope = NewDisposeScope();
            var cpu = t.detach().cpu().contiguous();
            var words = MemoryMarshal.Cast<byte, ulong>(cpu.bytes);
            foreach (var w in words) h = Data.Seeds.Mix(h ^ w);
            var tail = cpu.bytes[(words.Length * 8)..];
            foreach (var b in tail) h = Data.Seeds.Mix(h ^ b);
        }
        return unchecked((long)h);
    }

    /// <summary>The MPI datatype of a gradient's element type.</summary>
    internal static int MpiType(ScalarType type) => type switch
    {
        ScalarType.Float32 => Mpich.Float,
        ScalarType.Float64 => Mpich.Double,
        _ => throw new ArgumentException($"distributed averaging supports float32 and float64 tensors, not {type}"),
    };
}

/// <summary>One process: rank 0 of 1, every collective the identity, nothing loaded.</summary>
sealed class SingleProcessGroup : IProcessGroup
{
    public int Rank => 0;
    public int Size => 1;
    public string Description => "one process";
    public void AverageGradients(IEnumerable<TorchSharp.Modules.Parameter> parameters) => ArgumentNullException.ThrowIfNull(parameters);
    public void SumInPlace(Tensor tensor) => ArgumentNullException.ThrowIfNull(tensor);
    public double Average(double value) => value;
    public bool AnyRank(bool value) => value;
    public bool AllEqual(long value) => true;
    public byte[] Broadcast(byte[]? data, int root = 0)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), $"root {root} is not a rank of a single-process group");
        return data ?? throw new ArgumentNullException(nameof(data), "the root's data is null");
    }
    public void BroadcastInPlace(IEnumerable<Tensor> tensors, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), $"root {root} is not a rank of a single-process group");
    }
    public void Barrier() { }
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public void Abort(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        Environment.Exit(code);
        throw new InvalidOperationException("unreachable");
    }
    public void Dispose() { }
}

// IProcessGroup: the ranks of a data-parallel run and the collectives the training loop needs (DDP's gradient averaging).
using System.Diagnostics.CodeAnalysis;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace MaeDsl.Distributed;

/// <summary>
/// The processes of one data-parallel run: every rank builds the same model, trains on its shard of each epoch
/// (<see cref="Data.DistributedShard"/>) and averages gradients before each optimizer step, as PyTorch's
/// DistributedDataParallel does. <see cref="ProcessGroup.Start"/> gives the MPI group under MPICH's <c>mpiexec</c>
/// and a single-process group otherwise, in which every operation is the identity.
/// Every collective must be called by every rank, in the same order, with the same arguments where stated.
/// </summary>
internal interface IProcessGroup : IDisposable
{
    /// <summary>This process's rank, 0 … <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int Size { get; }

    /// <summary>Rank 0: the one that writes checkpoints, logs and the progress line.</summary>
    bool IsMain => Rank == 0;

    /// <summary>What runs the group, for a log line (e.g. "MPICH Version: 4.0.2, 2 ranks" or "one process").</summary>
    string Description { get; }

    /// <summary>
    /// Replaces each parameter's gradient by its mean over the ranks: gradients are copied into flat buckets of
    /// ~25 MiB (<see cref="ProcessGroup.BucketBytes"/>, DDP's default) in the order given, each bucket is summed in
    /// place with one Allreduce, divided by <see cref="Size"/> and copied back (a bucket of one contiguous gradient is
    /// reduced in the gradient's own memory). Parameters without a gradient are skipped; every rank must have gradients
    /// for the same parameters, in the same order (checked: a <see cref="DistributedException"/> otherwise).
    /// Gradients must be float32 or float64, on the CPU.
    /// </summary>
    void AverageGradients(IEnumerable<Parameter> parameters);

    /// <summary>Sums a contiguous float32/float64 CPU tensor over the ranks, in place (Allreduce).</summary>
    void SumInPlace(Tensor tensor);

    /// <summary>The mean of <paramref name="value"/> over the ranks (e.g. a logged loss).</summary>
    double Average(double value);

    /// <summary>Whether <paramref name="value"/> is true on any rank (logical OR): a stop request on one rank stops all at the same step.</summary>
    bool AnyRank(bool value);

    /// <summary>Whether every rank passed the same <paramref name="value"/> (e.g. a checksum of the initial weights,
    /// <see cref="ProcessGroup.Checksum"/>).</summary>
    bool AllEqual(long value);

    /// <summary>Rank <paramref name="root"/>'s <paramref name="data"/> on every rank (the others may pass null).</summary>
    byte[] Broadcast(byte[]? data, int root = 0);

    /// <summary>Overwrites the tensors (contiguous, CPU, the same shapes on every rank) with rank <paramref name="root"/>'s, in
    /// place: DDP's broadcast of the initial state.</summary>
    void BroadcastInPlace(IEnumerable<Tensor> tensors, int root = 0);

    /// <summary>Waits until every rank gets here.</summary>
    void Barrier();

    /// <summary>
    /// Ends every rank now with exit code <paramref name="code"/> (MPI_Abort; one process: exits). Call it after
    /// printing the error line, when one rank fails while the others may wait in a collective: it never hangs.
    /// </summary>
    [DoesNotReturn]
    void Abort(int code);
}

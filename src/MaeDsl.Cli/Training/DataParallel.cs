// DataParallel: the runner's side of data-parallel training under mpiexec: joining the ranks, their silence, ending them all on an error.
using MaeDsl.Distributed;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>
/// pretrain, finetune and linprobe join the process group of their launch (<see cref="ProcessGroup.Start"/>: MPI under MPICH's
/// <c>mpiexec -n N</c>, else one process). Rank 0 prints and writes as a single process does; the other ranks print nothing but
/// errors. An error on one rank ends every rank (MPI_Abort) after its line, so that no rank waits forever in a collective.
/// </summary>
internal static class DataParallel
{
    static IProcessGroup? joined;

    /// <summary>This process's group, started on first use; the other ranks' standard output is silenced from then on.</summary>
    public static IProcessGroup Join()
    {
        if (joined is not null) return joined;
        joined = ProcessGroup.Start();
        if (!joined.IsMain) Console.SetOut(TextWriter.Null);
        else if (joined.Size > 1) Console.WriteLine($"data parallel: {joined.Size} ranks ({joined.Description}); rank 0 writes the run");
        return joined;
    }

    /// <summary><paramref name="run"/> with its rank count set to the group's (the effective batch and lr follow it).</summary>
    public static RunOptions WithRanks(RunOptions run) => run with { Ranks = Join().Size };

    /// <summary>Rank 0's <paramref name="choice"/> on every rank (--precision auto measures on each: the ranks must train alike).</summary>
    public static PrecisionChoice Agree(PrecisionChoice choice)
    {
        var group = Join();
        if (group.Size == 1) return choice;
        var precision = (Precision)group.Broadcast([(byte)choice.Precision])[0];
        return precision == choice.Precision ? choice : choice with { Precision = precision };
    }

    /// <summary>Whether this process prints: rank 0, or any process outside a data-parallel launch.</summary>
    public static bool IsMain => joined?.IsMain ?? true;

    /// <summary>The ranks of the run (1 without mpiexec).</summary>
    public static int Size => joined?.Size ?? 1;

    /// <summary>MPI_Finalize at the end of a command, once every rank is done (mpiexec counts a rank that ends without it as failed).</summary>
    public static void Leave()
    {
        joined?.Dispose();
        joined = null;
    }

    /// <summary>After an error line on one rank: ends every rank with <paramref name="exitCode"/> (nothing in one process).</summary>
    public static void AbortOthers(int exitCode)
    {
        if (joined is { Size: > 1 } group) group.Abort(exitCode);
    }
}

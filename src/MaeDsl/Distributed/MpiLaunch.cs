// MpiLaunch: whether this process was started by an MPI launcher, which one, and its rank and size.
using System.Collections;
using System.Globalization;

namespace MaeDsl.Distributed;

/// <summary>
/// Reads the launcher's environment, before any MPI library is loaded. MPICH's Hydra (<c>mpiexec</c>, <c>mpirun</c>)
/// gives each rank <c>PMI_RANK</c>, <c>PMI_SIZE</c> and <c>PMI_FD</c> (checked: <c>mpiexec -n 2 env | grep PMI</c>);
/// Open MPI's <c>mpirun</c> gives <c>OMPI_COMM_WORLD_SIZE</c>, and its ABI is not MPICH's, so that launch is refused
/// with one line instead of crashing in <c>MPI_Init</c>.
/// </summary>
internal static class MpiLaunch
{
    /// <summary>The launch of this process: <c>(0, 1)</c> without a launcher or with one rank.</summary>
    /// <exception cref="DistributedException">Open MPI's launcher, or PMI variables that are not a rank below a size.</exception>
    public static (int Rank, int Size) Detect(IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? Get(string name) => environment[name] as string;
        if (Get("OMPI_COMM_WORLD_SIZE") is { } ompi)
            throw new DistributedException($"launched by Open MPI's mpirun ({ompi} ranks): MaeDsl binds MPICH's ABI; "
                + "launch with MPICH's mpiexec (Debian: mpiexec.mpich -n N …; apt-get install mpich)");
        string? rank = Get("PMI_RANK"), size = Get("PMI_SIZE");
        if (size is null) return (0, 1);
        if (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1
            || !int.TryParse(rank, NumberStyles.None, CultureInfo.InvariantCulture, out int r) || r >= n)
            throw new DistributedException($"the MPI launcher set PMI_RANK='{rank}' and PMI_SIZE='{size}': expected a rank below a positive size");
        return (r, n);
    }

    /// <summary><see cref="Detect(IDictionary)"/> on this process's environment.</summary>
    public static (int Rank, int Size) Detect() => Detect(Environment.GetEnvironmentVariables());
}

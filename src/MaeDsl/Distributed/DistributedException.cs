// DistributedException: a failure of the process group (launch, MPI library, a collective), reported as one error line.
namespace MaeDsl.Distributed;

/// <summary>
/// A failure of data-parallel training: a launch MaeDsl cannot use (Open MPI's <c>mpiexec</c>, a missing MPICH library)
/// or an MPI collective that failed (usually because another rank ended). Its message is one line, meant for
/// <c>error: …</c>; after a failed collective the caller ends every rank with <see cref="IProcessGroup.Abort"/>.
/// </summary>
public sealed class DistributedException(string message) : Exception(message);

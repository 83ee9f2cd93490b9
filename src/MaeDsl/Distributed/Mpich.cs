// Mpich: the few MPI functions data-parallel training needs, bound directly to MPICH's C library (ABI of mpi.h, MPICH 3.1+).
using System.Runtime.InteropServices;

namespace MaeDsl.Distributed;

/// <summary>
/// A direct binding of the dozen MPI functions data parallelism needs, against MPICH's library (<c>libmpich.so.12</c> on
/// Debian/Ubuntu, <c>libmpi.so.12</c> elsewhere: the MPICH ABI, shared by Intel MPI and MVAPICH). The library is loaded
/// by <see cref="Load"/> only, on the first use under <c>mpiexec</c>: nothing about MPI is needed to build MaeDsl, to
/// run it in one process, or to run its tests. Functions are called through unmanaged function pointers taken from the
/// loaded library, so no <c>DllImport</c> ever resolves by itself.
/// </summary>
/// <remarks>
/// Why not MPI.NET (NuGet 1.4.0, which also works here with a resolver that maps <c>msmpi</c> to <c>libmpich.so.12</c>):
/// its collectives take managed arrays, so averaging a gradient that lives in libtorch's memory would copy it into a
/// <c>float[]</c> and back around every Allreduce; this binding reduces in place on the tensor's own memory
/// (<c>MPI_IN_PLACE</c>). It is also a dependency fewer, and the handles below are MPICH's documented ABI constants
/// (<c>mpi.h</c>: handles are <c>int</c>s), stable since MPICH 3.1's ABI initiative.
/// </remarks>
internal static unsafe class Mpich
{
    // mpi.h (MPICH): handles are ints with fixed values
    public const int CommWorld = 0x44000000;
    public const int Byte = 0x4c00010d;
    public const int Int = 0x4c000405;
    public const int Float = 0x4c00040a;
    public const int Double = 0x4c00080b;
    public const int Int64 = 0x4c00083a;
    public const int OpMax = 0x58000001;
    public const int OpSum = 0x58000003;
    public const int OpLor = 0x58000007;
    public const int ErrorsReturn = 0x54000001;
    public const int ThreadSerialized = 2;
    public const int Success = 0;
    public static readonly IntPtr InPlace = -1;
    const int MaxErrorString = 512, MaxLibraryVersionString = 8192;

    /// <summary>The library names tried in turn: Debian's MPICH, then the MPICH ABI's common name.</summary>
    public static readonly string[] LibraryNames = ["libmpich.so.12", "libmpi.so.12"];

    static IntPtr library;
    static delegate* unmanaged<int*, IntPtr, int, int*, int> initThread;
    static delegate* unmanaged<int*, int> initialized, finalized;
    static delegate* unmanaged<int> finalize;
    static delegate* unmanaged<int, int*, int> commRank, commSize;
    static delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int> allreduce;
    static delegate* unmanaged<IntPtr, int, int, int, int, int> bcast;
    static delegate* unmanaged<int, int> barrier;
    static delegate* unmanaged<int, int, int> abort;
    static delegate* unmanaged<int, int, int> commSetErrhandler;
    static delegate* unmanaged<int, byte*, int*, int> errorString;
    static delegate* unmanaged<byte*, int*, int> libraryVersion;

    /// <summary>Loads MPICH's library and binds the functions; an <see cref="DistributedException"/> names what was tried.</summary>
    public static void Load()
    {
        if (library != IntPtr.Zero) return;
        IntPtr handle = IntPtr.Zero;
        foreach (var name in LibraryNames)
            if (NativeLibrary.TryLoad(name, out handle)) break;
        if (handle == IntPtr.Zero)
            throw new DistributedException($"launched under MPI but MPICH's library is not found ({string.Join(", ", LibraryNames)}): "
                + "install MPICH (Debian/Ubuntu: apt-get install mpich; or run eng/install-native-deps.sh)");
        IntPtr F(string name) => NativeLibrary.TryGetExport(handle, name, out var f) ? f
            : throw new DistributedException($"MPICH's library has no {name}: it is not an MPI 3 library");
        initThread = (delegate* unmanaged<int*, IntPtr, int, int*, int>)F("MPI_Init_thread");
        initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        commRank = (delegate* unmanaged<int, int*, int>)F("MPI_Comm_rank");
        commSize = (delegate* unmanaged<int, int*, int>)F("MPI_Comm_size");
        allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int>)F("MPI_Allreduce");
        bcast = (delegate* unmanaged<IntPtr, int, int, int, int, int>)F("MPI_Bcast");
        barrier = (delegate* unmanaged<int, int>)F("MPI_Barrier");
        abort = (delegate* unmanaged<int, int, int>)F("MPI_Abort");
        commSetErrhandler = (delegate* unmanaged<int, int, int>)F("MPI_Comm_set_errhandler");
        errorString = (delegate* unmanaged<int, byte*, int*, int>)F("MPI_Error_string");
        libraryVersion = (delegate* unmanaged<byte*, int*, int>)F("MPI_Get_library_version");
        library = handle;
    }

    /// <summary>MPI_Init_thread(SERIALIZED) on MPI_COMM_WORLD, whose errors then return (they become exceptions) instead of aborting.</summary>
    public static (int Rank, int Size) Init()
    {
        int flag, provided, rank, size;
        Check(initialized(&flag), "MPI_Initialized");
        if (flag == 0)
        {
            Check(initThread(null, IntPtr.Zero, ThreadSerialized, &provided), "MPI_Init_thread");
            if (provided < ThreadSerialized)
                throw new DistributedException($"MPI provides thread level {provided}, MaeDsl needs MPI_THREAD_SERIALIZED ({ThreadSerialized})");
        }
        Check(commSetErrhandler(CommWorld, ErrorsReturn), "MPI_Comm_set_errhandler");
        Check(commRank(CommWorld, &rank), "MPI_Comm_rank");
        Check(commSize(CommWorld, &size), "MPI_Comm_size");
        return (rank, size);
    }

    public static bool IsFinalized()
    {
        int flag;
        Check(finalized(&flag), "MPI_Finalized");
        return flag != 0;
    }

    public static void Shutdown() => Check(finalize(), "MPI_Finalize");

    /// <summary>MPI_Allreduce in place: <paramref name="count"/> elements at <paramref name="buffer"/> become the reduction over every rank.</summary>
    public static void AllreduceInPlace(IntPtr buffer, int count, int datatype, int op)
        => Check(allreduce(InPlace, buffer, count, datatype, op, CommWorld), "MPI_Allreduce");

    public static void Broadcast(IntPtr buffer, int count, int datatype, int root)
        => Check(bcast(buffer, count, datatype, root, CommWorld), "MPI_Bcast");

    public static void Barrier() => Check(barrier(CommWorld), "MPI_Barrier");

    /// <summary>MPI_Abort on MPI_COMM_WORLD: the launcher ends every rank with <paramref name="code"/>.</summary>
    public static void Abort(int code) => abort(CommWorld, code);

    /// <summary>The library's own version line (e.g. "MPICH Version: 4.0.2").</summary>
    public static string LibraryVersion()
    {
        var text = new byte[MaxLibraryVersionString];
        int length;
        fixed (byte* p = text) Check(libraryVersion(p, &length), "MPI_Get_library_version");
        return System.Text.Encoding.ASCII.GetString(text, 0, Math.Max(0, length)).Split('\n')[0].Trim();
    }

    static void Check(int code, string function)
    {
        if (code == Success) return;
        var text = new byte[MaxErrorString];
        int length = 0;
        fixed (byte* p = text)
            if (errorString == null || errorString(code, p, &length) != Success) length = 0;
        var message = System.Text.Encoding.ASCII.GetString(text, 0, Math.Max(0, length)).ReplaceLineEndings(" ").Trim();
        throw new DistributedException($"{function} failed ({(message.Length > 0 ? message : $"MPI error {code}")}): another rank probably ended");
    }
}

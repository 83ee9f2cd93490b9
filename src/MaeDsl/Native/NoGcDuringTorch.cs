// NoGcDuringTorch: keeps garbage collections out of native torch calls (TorchSharp's Scalar finalizer races them).
using System.Runtime;

namespace MaeDsl.Native;

/// <summary>
/// Keeps garbage collections out of native torch calls: runs a unit of torch work (a training step, a checkpoint
/// save or load, a feature batch, a picture, a model's initialisation) inside a no-GC region.
/// Why: TorchSharp 0.107 turns numbers into <c>Scalar</c> objects whose finalizer frees the native value, and passes
/// temporaries such as the <c>alpha = 1</c> of <c>Tensor + Tensor</c> to libtorch without keeping them alive:
/// a collection while the native op runs can free the Scalar under libtorch's feet (the finalizer races the call).
/// Measured here on a busy 2-core machine: "Expected false to be true … toFloat at Scalar.h:140" from add_Tensor in
/// the encoder's forward. Inside a no-GC region no collection happens (as long as the process allocates less than
/// <see cref="Budget"/> managed bytes), so collections, and the finalizers they queue, fall between units.
/// Units nest: an inner unit runs inside the outer one's region. Every path of MaeDsl that runs torch ops goes
/// through here; callers never copy the region logic.
/// </summary>
internal static class NoGcDuringTorch
{
    /// <summary>Managed bytes the process may allocate during one unit before the runtime collects anyway (the least; a
    /// loader whose batches need more raises it, see <see cref="WaitForRoom"/>).</summary>
    public const long Budget = 64L << 20;

    /// <summary>The most a unit's region asks for, whatever the loaders need.</summary>
    public const long MaxBudget = 1L << 30;

    /// <summary>Bytes of the region kept for the unit's own allocations (TorchSharp's wrappers: ~0.2 MB a step), out of the loaders' reach.</summary>
    public const long UnitShare = 16L << 20;

    static long budget = Budget;            // what the next region asks for
    static long regionBudget;               // what the running region got (0: no region)
    static long regionStart;                // GC.GetTotalAllocatedBytes when it began
    static readonly ManualResetEventSlim noUnit = new(true);   // set while no outermost unit runs

    /// <summary>
    /// Called by a thread that allocates while torch units may run on another (the <see cref="Data.BatchLoader"/>'s workers
    /// before each batch) with the managed bytes it is about to allocate: waits until they fit in the running unit's
    /// region beside the unit's own share, or until the unit ends, so that the loader never exhausts a region (a
    /// collection inside a unit is what lets TorchSharp's Scalar finalizer race a native call). Bytes beyond a region's
    /// half raise the budget of the next regions (at most <see cref="MaxBudget"/>).
    /// </summary>
    /// <param name="bytes">The managed bytes about to be allocated.</param>
    /// <param name="mustGo">True when waiting could deadlock (the unit itself waits for what the caller makes): go at once.</param>
    /// <param name="cancel">Ends the wait.</param>
    public static void WaitForRoom(long bytes, Func<bool>? mustGo = null, CancellationToken cancel = default)
    {
        if (bytes <= 0) return;
        long wanted = Math.Min(MaxBudget, 2 * bytes + UnitShare);
        for (long b = Interlocked.Read(ref budget); wanted > b; b = Interlocked.Read(ref budget))
            if (Interlocked.CompareExchange(ref budget, wanted, b) == b) break;
        while (!noUnit.IsSet)
        {
            long got = Interlocked.Read(ref regionBudget);
            if (got == 0 || GC.GetTotalAllocatedBytes(false) - Interlocked.Read(ref regionStart) + bytes <= got - UnitShare) return;
            if (mustGo?.Invoke() == true) return;
            noUnit.Wait(50, cancel);
        }
    }

    static long units, unprotected, lost;

    /// <summary>Outermost units run so far in this process.</summary>
    public static long Units => Interlocked.Read(ref units);
    /// <summary>Outermost units that ran without a no-GC region (the runtime refused to start one).</summary>
    public static long Unprotected => Interlocked.Read(ref unprotected);
    /// <summary>Outermost units whose region the runtime ended early: the process (any thread: the loader's workers too) allocated
    /// more than <see cref="Budget"/> during the unit, and a collection ran inside it.</summary>
    public static long Lost => Interlocked.Read(ref lost);

    /// <summary>The size of the running outermost unit's region; 0 when none runs (or the runtime refused one).</summary>
    public static long RegionBudget => Interlocked.Read(ref regionBudget);

    /// <summary>One line for a diagnostic report: the collections of each generation and the units' protection.</summary>
    public static string Report() =>
        FormattableString.Invariant($"gc: gen0 {GC.CollectionCount(0)}, gen1 {GC.CollectionCount(1)}, gen2 {GC.CollectionCount(2)} collections; ") +
        FormattableString.Invariant($"torch units {Units}, unprotected {Unprotected}, region lost {Lost}");

    public static T Run<T>(Func<T> unit)
    {
        bool nested = GCSettings.LatencyMode == GCLatencyMode.NoGCRegion;
        bool entered = !nested && TryEnter();
        if (!nested)
        {
            Interlocked.Increment(ref units);
            if (!entered) Interlocked.Increment(ref unprotected);
        }
        try { return unit(); }
        finally
        {
            if (!nested)
            {
                Interlocked.Exchange(ref regionBudget, 0);
                noUnit.Set();
            }
            if (entered && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
            else if (entered) Interlocked.Increment(ref lost);
        }
    }

    public static void Run(Action unit) => Run(() => { unit(); return 0; });

    static bool TryEnter()
    {
        noUnit.Reset();
        long wanted = Interlocked.Read(ref budget);
        foreach (long size in wanted > Budget ? [wanted, Budget] : new[] { Budget })   // a raised budget the runtime refuses: the least
        {
            try
            {
                if (!GC.TryStartNoGCRegion(size)) continue;
                Interlocked.Exchange(ref regionStart, GC.GetTotalAllocatedBytes(false));
                Interlocked.Exchange(ref regionBudget, size);
                return true;
            }
            catch (ArgumentOutOfRangeException) { }
            catch (InvalidOperationException) { return false; }
        }
        return false;
    }
}

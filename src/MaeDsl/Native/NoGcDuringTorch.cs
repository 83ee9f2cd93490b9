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
public static class NoGcDuringTorch
{
    /// <summary>Managed bytes the process may allocate during one unit before the runtime collects anyway.</summary>
    public const long Budget = 64L << 20;

    public static T Run<T>(Func<T> unit)
    {
        bool entered = TryEnter();
        try { return unit(); }
        finally
        {
            if (entered && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
    }

    public static void Run(Action unit) => Run(() => { unit(); return 0; });

    static bool TryEnter()
    {
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) return false; // already inside one (nested unit)
        try { return GC.TryStartNoGCRegion(Budget); }
        catch (ArgumentOutOfRangeException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}

// MaeOutput: what an MAE forward returns (loss, pred, mask, ids_restore, latent).
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>What one MAE forward pass computes. Disposing it disposes every tensor.</summary>
public sealed class MaeOutput : IDisposable
{
    public MaeOutput(Tensor loss, Tensor pred, Tensor mask, Tensor idsRestore, Tensor latent)
    {
        Loss = loss; Pred = pred; Mask = mask; IdsRestore = idsRestore; Latent = latent;
    }

    /// <summary>Mean squared error over the removed patches, a scalar.</summary>
    public Tensor Loss { get; }
    /// <summary>The decoder's prediction for every patch, [B, L, p²C] (the loss uses the removed ones).</summary>
    public Tensor Pred { get; }
    /// <summary>[B, L], 1 = removed, 0 = seen by the encoder.</summary>
    public Tensor Mask { get; }
    /// <summary>[B, L] int64, the permutation that unshuffles the kept-first order.</summary>
    public Tensor IdsRestore { get; }
    /// <summary>The encoder output after its norm, cls token first: [B, 1 + VisibleCount, EncoderWidth].</summary>
    public Tensor Latent { get; }

    internal MaeOutput MoveToOuterDisposeScope()
    {
        foreach (var t in new[] { Loss, Pred, Mask, IdsRestore, Latent }) t.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose()
    {
        Loss.Dispose(); Pred.Dispose(); Mask.Dispose(); IdsRestore.Dispose(); Latent.Dispose();
    }
}

// IMaskedAutoencoder: the static contract of a generated MAE class (its spec, its factory).
namespace MaeDsl;

/// <summary>
/// What every generated MAE variant provides statically, so that trainers are generic over variants
/// without reflection: <c>Pretrainer.Run&lt;MaeVitBase16&gt;(...)</c> calls <c>TModel.Create(seed)</c>.
/// </summary>
public interface IMaskedAutoencoder<TSelf> where TSelf : MaskedAutoencoder, IMaskedAutoencoder<TSelf>
{
    /// <summary>The validated configuration the generator derived from the attributes.</summary>
    static abstract MaeSpec Specification { get; }

    /// <summary>A new model with the official initialisation; a seed makes it (and its masking) deterministic.</summary>
    static abstract TSelf Create(long? seed = null);
}

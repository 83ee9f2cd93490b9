// Features: an MAE encoder's frozen features of a batch, pooled to one vector per image (the cls token or the mean of the patch tokens).
using MaeDsl.Native;
using static TorchSharp.torch;

namespace MaeDsl.Evaluation;

/// <summary>How the encoder's tokens become one vector per image.</summary>
internal enum FeaturePool
{
    /// <summary>The cls token after the encoder's final norm.</summary>
    Cls,
    /// <summary>The mean of the patch tokens after the encoder's final norm.</summary>
    Mean,
}

/// <summary>Frozen encoder features (no masking, eval mode, no gradient), pooled per image.</summary>
internal static class Features
{
    /// <summary>Pools <c>Encode</c>'s output [B, 1 + L, W] to [B, W].</summary>
    public static Tensor Pool(Tensor tokens, FeaturePool pool) => pool switch
    {
        FeaturePool.Cls => tokens.select(1, 0),
        FeaturePool.Mean => tokens.narrow(1, 1, tokens.shape[1] - 1).mean([1]),
        _ => throw new ArgumentOutOfRangeException(nameof(pool), pool, "FeaturePool: cls or mean"),
    };

    /// <summary>The features [B, W] of <paramref name="images"/> (normalised, the model's size) as float32 row-major values.</summary>
    public static float[] Compute(MaskedAutoencoder model, Tensor images, FeaturePool pool) => NoGcDuringTorch.Run(() =>
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            var features = Pool(model.Encode(images), pool).to(ScalarType.Float32).cpu().contiguous();   // read back: a sync point
            return features.data<float>().ToArray();
        }
        finally { model.train(wasTraining); }
    });
}

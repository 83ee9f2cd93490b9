// MaskedPatchError: the MSE on the removed patches, against a mean-visible-value baseline.
using MaeDsl.Native;
using static TorchSharp.torch;

namespace MaeDsl.Evaluation;

/// <summary>Mean squared error on the removed patches of the model and of a trivial predictor, over the same masks.</summary>
/// <param name="Model">The MAE's masked-patch MSE (its loss, averaged over images).</param>
/// <param name="MeanVisibleBaseline">The MSE of filling every removed patch with its image's mean visible value.</param>
/// <param name="Images">Images evaluated.</param>
/// <param name="NormalizePixels">Whether the targets are per-patch normalised (the model's loss space).</param>
internal sealed record MaskedPatchErrorResult(double Model, double MeanVisibleBaseline, long Images, bool NormalizePixels)
{
    public bool ModelBeatsBaseline => Model < MeanVisibleBaseline;
}

/// <summary>
/// The reconstruction error of an MAE on held-out images next to a baseline that needs no learning: each removed
/// patch is predicted as the mean of its image's visible values. Both are measured in the space of the model's
/// loss (normalised input pixels; per-patch normalised targets with NormalizePixels) on the same masks.
/// </summary>
internal static class MaskedPatchError
{
    /// <summary>Per-image masked-patch MSE [B] of a prediction [B, L, P] against targets [B, L, P] with mask [B, L] (1 = removed).</summary>
    public static Tensor PerImage(Tensor prediction, Tensor target, Tensor mask)
    {
        var perPatch = (prediction - target).pow(2).mean([-1]);          // [B, L]
        return (perPatch * mask).sum(1) / mask.sum(1);
    }

    /// <summary>The baseline prediction [B, L, P]: every patch holds the mean of the image's visible values.</summary>
    public static Tensor MeanVisiblePrediction(Tensor target, Tensor mask)
    {
        var visible = (1 - mask).unsqueeze(-1);                              // [B, L, 1]
        var mean = (target * visible).sum([1, 2]) / (visible.sum([1, 2]) * target.shape[2]); // [B]
        return mean.view(-1, 1, 1).expand_as(target);
    }

    /// <summary>The target the loss compares with: patchified images, per-patch normalised with NormalizePixels.</summary>
    public static Tensor Target(MaskedAutoencoder model, Tensor images)
    {
        var target = model.Patchify(images);
        if (!model.Spec.NormalizePixels) return target;
        var mean = target.mean([-1], keepdim: true);
        var variance = target.var(-1, unbiased: true, keepdim: true);
        return (target - mean) / (variance + MaeSpec.NormPixEps).sqrt();
    }

    /// <summary>Evaluates over batches of images; batch i is masked with noise from <paramref name="noiseFor"/>(i, batch size).</summary>
    public static MaskedPatchErrorResult Evaluate(MaskedAutoencoder model, IEnumerable<Tensor> batches, Func<int, long, Tensor> noiseFor)
    {
        double modelSum = 0, baselineSum = 0;
        long count = 0;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            int index = 0;
            foreach (var images in batches)
            {
                int i = index++;
                var (modelBatch, baselineBatch) = NoGcDuringTorch.Run(() =>
                {
                    using var scope = NewDisposeScope();
                    var noise = noiseFor(i, images.shape[0]);
                    var onDevice = Devices.To(images, Devices.Of(model));
                    using var output = model.forward(onDevice, noise);
                    var target = Target(model, onDevice);
                    return ((double)PerImage(output.Pred, target, output.Mask).sum().item<float>(),
                            (double)PerImage(MeanVisiblePrediction(target, output.Mask), target, output.Mask).sum().item<float>());
                });
                modelSum += modelBatch;
                baselineSum += baselineBatch;
                count += images.shape[0];
            }
        }
        finally { model.train(wasTraining); }
        if (count == 0) throw new ArgumentException("no images to evaluate", nameof(batches));
        return new MaskedPatchErrorResult(modelSum / count, baselineSum / count, count, model.Spec.NormalizePixels);
    }
}

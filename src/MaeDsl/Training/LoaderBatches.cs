using MaeDsl.Data;
using static TorchSharp.torch;

namespace MaeDsl.Training;

/// <summary>Pre-training images from a <see cref="BatchLoader"/> (labels dropped), optionally adapted (e.g. grey → RGB).</summary>
public sealed class LoaderBatches(BatchLoader loader, Func<Tensor, Tensor>? prepare = null) : IPretrainBatches
{
    public BatchLoader Loader { get; } = loader;

    public int StepsPerEpoch => Loader.BatchesPerEpoch;

    public IEnumerable<Tensor> Batches(int epoch)
    {
        foreach (var batch in Loader.Epoch(epoch))
        {
            batch.Labels.Dispose();
            var images = prepare is null ? batch.Images : prepare(batch.Images);
            if (!ReferenceEquals(images, batch.Images)) batch.Images.Dispose();
            yield return images; // the Pretrainer disposes it after the step
        }
    }
}

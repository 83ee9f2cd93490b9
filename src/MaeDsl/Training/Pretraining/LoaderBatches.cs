// LoaderBatches: pre-training images from a BatchLoader (labels dropped).
using MaeDsl.Data;
using static TorchSharp.torch;

namespace MaeDsl.Training.Pretraining;

/// <summary>Pre-training images from a <see cref="BatchLoader"/> (labels dropped).</summary>
public sealed class LoaderBatches(BatchLoader loader) : IPretrainBatches
{
    public BatchLoader Loader { get; } = loader;

    public int StepsPerEpoch => Loader.BatchesPerEpoch;

    public IEnumerable<Tensor> Batches(int epoch)
    {
        foreach (var batch in Loader.Epoch(epoch))
        {
            batch.Labels.Dispose();
            yield return batch.Images; // the Pretrainer disposes it after the step
        }
    }
}

// LoaderBatches: pre-training images from a BatchLoader (labels dropped).
using MaeDsl.Data;
using static TorchSharp.torch;

namespace MaeDsl.Training.Pretraining;

/// <summary>Pre-training images from a <see cref="BatchLoader"/> (labels dropped).</summary>
public sealed class LoaderBatches(BatchLoader loader) : IPretrainBatches
{
    public BatchLoader Loader { get; } = loader;

    public int StepsPerEpoch => Loader.BatchesPerEpoch;

    public IEnumerable<Tensor> Batches(int epoch) => Batches(epoch, 0);

    public System.Text.Json.Nodes.JsonObject Identity => DataIdentity.Of(Loader.Dataset);

    public IEnumerable<Tensor> Batches(int epoch, int firstBatch)
    {
        foreach (var batch in Loader.Epoch(epoch, firstBatch))
        {
            batch.Labels.Dispose();
            yield return batch.Images; // the Pretrainer disposes it after the step
        }
    }
}

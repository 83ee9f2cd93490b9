// Knn: DINO's weighted k-NN classifier on frozen features (MAE encoder, random encoder or raw pixels).
using MaeDsl.Native;
using static TorchSharp.torch;

namespace MaeDsl.Evaluation;

/// <summary>The outcome of a k-NN evaluation.</summary>
internal sealed record KnnResult(double Accuracy, long Correct, long Total, int K, double Temperature, long MemoryBankSize);

/// <summary>
/// DINO's weighted k-NN classifier (eval_knn.py, Wu et al. 2018): features are L2-normalised; each query takes
/// its k nearest memory-bank entries by cosine similarity, and each neighbour votes for its label with weight
/// exp(sim / T). The class with the largest summed weight wins. Defaults k = 20, T = 0.07 as DINO uses them.
/// The same code runs on any features: the MAE encoder's (mean of the patch tokens after its norm), a
/// randomly initialised encoder's, or raw pixels.
/// </summary>
internal static class Knn
{
    public const int DefaultK = 20;
    public const double DefaultTemperature = 0.07;

    /// <summary>The feature MAE's k-NN uses: the mean of the patch tokens (cls dropped) of Encode's output [B, 1+L, W] → [B, W].</summary>
    public static Tensor PatchTokenMean(Tensor latent)
    {
        if (latent.dim() != 3 || latent.shape[1] < 2)
            throw new ArgumentException($"latent must be [B, 1+L, W] with L >= 1 (cls token first), got [{string.Join(", ", latent.shape)}]", nameof(latent));
        return latent[.., 1.., ..].mean([1]);
    }

    /// <summary>Raw-pixel features: each image flattened to one vector.</summary>
    public static Tensor RawPixels(Tensor images) => images.flatten(1);

    /// <summary>Row-wise L2 normalisation (F.normalize(x, dim=1)).</summary>
    public static Tensor Normalize(Tensor features) => nn.functional.normalize(features, p: 2, dim: 1);

    /// <summary>
    /// Runs <paramref name="featurize"/> over every batch (no grad), L2-normalises and concatenates: [N, D] features and [N] int64 labels.
    /// <paramref name="progress"/> gets the number of images done after each batch.
    /// </summary>
    public static (Tensor Features, Tensor Labels) ExtractFeatures(IEnumerable<(Tensor Images, Tensor Labels)> batches, Func<Tensor, Tensor> featurize,
        Action<long>? progress = null)
    {
        var features = new List<Tensor>();
        var labels = new List<Tensor>();
        long done = 0;
        using (no_grad())
        {
            foreach (var (images, batchLabels) in batches)
            {
                NoGcDuringTorch.Run(() =>
                {
                    using var scope = NewDisposeScope();
                    var f = featurize(images);
                    if (f.dim() != 2 || f.shape[0] != images.shape[0])
                        throw new InvalidOperationException(
                            $"the featurizer must return [B, D] for a batch of {images.shape[0]} images, got [{string.Join(", ", f.shape)}]");
                    features.Add(Normalize(f.to_type(ScalarType.Float32)).MoveToOuterDisposeScope());
                    labels.Add(batchLabels.to_type(ScalarType.Int64).flatten().MoveToOuterDisposeScope());
                });
                done += images.shape[0];
                progress?.Invoke(done);
            }
        }
        if (features.Count == 0) throw new ArgumentException("no batches to extract features from", nameof(batches));
        var allFeatures = cat(features, 0);
        var allLabels = cat(labels, 0);
        foreach (var t in features) t.Dispose();
        foreach (var t in labels) t.Dispose();
        return (allFeatures, allLabels);
    }

    /// <summary>
    /// Predicted labels [M] for L2-normalised query features [M, D] against a memory bank [N, D] with labels [N].
    /// Queries go in chunks of <paramref name="chunk"/> so that the similarity matrix stays [chunk, N].
    /// </summary>
    public static Tensor Predict(Tensor bankFeatures, Tensor bankLabels, Tensor queryFeatures, int numClasses,
        int k = DefaultK, double temperature = DefaultTemperature, int chunk = 500)
    {
        if (bankFeatures.dim() != 2 || queryFeatures.dim() != 2 || bankFeatures.shape[1] != queryFeatures.shape[1])
            throw new ArgumentException(
                $"features must be [N, D] and [M, D] with the same D, got [{string.Join(", ", bankFeatures.shape)}] and " +
                $"[{string.Join(", ", queryFeatures.shape)}]");
        if (bankLabels.dim() != 1 || bankLabels.shape[0] != bankFeatures.shape[0])
            throw new ArgumentException($"bank labels must be [{bankFeatures.shape[0]}], got [{string.Join(", ", bankLabels.shape)}]", nameof(bankLabels));
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "at least one class");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be >= 1");
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the temperature must be > 0");
        if (chunk < 1) throw new ArgumentOutOfRangeException(nameof(chunk), chunk, "chunk must be >= 1");
        long minLabel = bankLabels.min().item<long>(), maxLabel = bankLabels.max().item<long>();
        if (minLabel < 0 || maxLabel >= numClasses)
            throw new ArgumentException($"bank labels must be in [0, {numClasses}), found [{minLabel}, {maxLabel}]", nameof(bankLabels));

        using var labelsThere = Devices.To(bankLabels, bankFeatures.device);   // the votes are counted where the features are
        int kk = (int)Math.Min(k, bankFeatures.shape[0]);
        long m = queryFeatures.shape[0];
        var predictions = new List<Tensor>();
        using (no_grad())
        {
            var bankT = bankFeatures.t();
            for (long start = 0; start < m; start += chunk)
            {
                long end = Math.Min(m, start + chunk);
                NoGcDuringTorch.Run(() =>
                {
                    using var scope = NewDisposeScope();
                    var similarity = queryFeatures.narrow(0, start, end - start).mm(bankT);                  // [c, N] cosine similarities
                    var (distances, indices) = similarity.topk(kk, dim: 1, largest: true, sorted: true);
                    var neighbours = labelsThere[indices];                                     // [c, k] labels
                    var weights = (distances / temperature).exp_();                           // [c, k]
                    var votes = zeros(end - start, numClasses, dtype: weights.dtype, device: weights.device)
                        .scatter_add_(1, neighbours, weights);                                 // [c, classes]
                    predictions.Add(votes.argmax(1).MoveToOuterDisposeScope());
                });
            }
        }
        var result = cat(predictions, 0);
        foreach (var p in predictions) p.Dispose();
        return result;
    }

    /// <summary>Top-1 accuracy of the weighted k-NN on query features with known labels.</summary>
    public static KnnResult Evaluate(Tensor bankFeatures, Tensor bankLabels, Tensor queryFeatures, Tensor queryLabels, int numClasses,
        int k = DefaultK, double temperature = DefaultTemperature)
    {
        if (queryLabels.dim() != 1 || queryLabels.shape[0] != queryFeatures.shape[0])
            throw new ArgumentException($"query labels must be [{queryFeatures.shape[0]}], got [{string.Join(", ", queryLabels.shape)}]", nameof(queryLabels));
        using var predicted = Predict(bankFeatures, bankLabels, queryFeatures, numClasses, k, temperature);
        using var hits = predicted.eq(Devices.To(queryLabels, predicted.device).to_type(ScalarType.Int64));
        long correct = hits.sum().item<long>();
        long total = queryFeatures.shape[0];
        return new KnnResult((double)correct / total, correct, total, k, temperature, bankFeatures.shape[0]);
    }

    /// <summary>Extracts features of the memory bank and the queries with one featurizer, then evaluates; <paramref name="progress"/> counts bank then query
    /// images.</summary>
    public static KnnResult Evaluate(Func<Tensor, Tensor> featurize, IEnumerable<(Tensor Images, Tensor Labels)> bank,
        IEnumerable<(Tensor Images, Tensor Labels)> queries, int numClasses, int k = DefaultK, double temperature = DefaultTemperature,
        Action<long>? progress = null)
    {
        var (bankFeatures, bankLabels) = ExtractFeatures(bank, featurize, progress);
        using var _bf = bankFeatures;
        using var _bl = bankLabels;
        long bankCount = bankFeatures.shape[0];
        var (queryFeatures, queryLabels) = ExtractFeatures(queries, featurize, progress is null ? null : done => progress(bankCount + done));
        using var _qf = queryFeatures;
        using var _ql = queryLabels;
        return Evaluate(bankFeatures, bankLabels, queryFeatures, queryLabels, numClasses, k, temperature);
    }
}

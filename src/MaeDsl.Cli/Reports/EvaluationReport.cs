// The evaluation of a pre-trained MAE: k-NN of the encoder vs its initialisation vs raw pixels, masked-patch MSE
// vs the mean-visible baseline, results.json and the machine-readable knn_accuracy line.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MaeDsl;
using MaeDsl.Data;
using MaeDsl.Evaluation;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>
/// What pre-training bought, measured three ways with the same k-NN code (DINO's weighted k-NN, k = 20,
/// T = 0.07; memory bank = the training images, queries = the held-out images): the pre-trained encoder,
/// the same architecture at its initialisation (same seed: the exact starting point of pre-training), and raw
/// pixels. Then the masked-patch MSE on held-out images against the mean-visible-value baseline.
/// </summary>
internal static class EvaluationReport
{
    public sealed record Figures(KnnResult Pretrained, KnnResult RandomInit, KnnResult RawPixels, MaskedPatchErrorResult Mse, TimeSpan Elapsed);

    internal const int EvalBatch = 500;

    /// <param name="cancel">Checked before each batch: a stop throws <see cref="OperationCanceledException"/> and writes nothing.</param>
    public static Figures Run(MaskedAutoencoder pretrained, MaskedAutoencoder randomInit, DataSources data, long seed, int? limit, string outputDir,
        CancellationToken cancel = default)
    {
        cancel.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        IEnumerable<(Tensor Images, Tensor Labels)> Batches(MaeDsl.Data.IImageDataset set)
        {
            foreach (var batch in data.EvalBatches(set, EvalBatch, limit, balancedSeed: seed))
            {
                cancel.ThrowIfCancellationRequested();
                yield return batch;
            }
        }
        var bankSet = data.Train;
        var querySet = data.Test ?? throw new InvalidDataException(
            $"{data.Description}: k-NN needs a held-out split (Fashion-MNIST's t10k, or a 'val' folder beside an ImageFolder 'train' root)");
        int classes = bankSet.NumClasses;
        long bankCount = Math.Min(bankSet.Count, limit ?? int.MaxValue), queryCount = Math.Min(querySet.Count, limit ?? int.MaxValue);
        Console.WriteLine($"k-NN: memory bank {bankCount} training images, {queryCount} held-out queries, k = {Knn.DefaultK}, T = {Knn.DefaultTemperature}");

        KnnResult Measure(string name, Func<Tensor, Tensor> featurize)
        {
            var sw = Stopwatch.StartNew();
            var last = Stopwatch.StartNew();
            long total = bankCount + queryCount;
            var result = Knn.Evaluate(featurize, Batches(bankSet), Batches(querySet), classes,
                progress: done =>
                {
                    if (last.Elapsed.TotalSeconds < 10) return;
                    last.Restart();
                    Console.WriteLine($"  {name}: features of {Math.Min(done, total)}/{total} images ({sw.Elapsed.TotalSeconds:F0} s)");
                });
            Console.WriteLine(FormattableString.Invariant(
                $"k-NN {name}: {result.Accuracy:F4} ({result.Correct}/{result.Total}) in {sw.Elapsed.TotalSeconds:F0} s"));
            return result;
        }

        pretrained.eval();
        randomInit.eval();
        var raw = Measure("raw pixels", Knn.RawPixels);
        var random = Measure("random-init encoder", images => Knn.PatchTokenMean(randomInit.Encode(images)));
        var trained = Measure("pre-trained encoder", images => Knn.PatchTokenMean(pretrained.Encode(images)));

        var mseClock = Stopwatch.StartNew();
        var mse = MaskedPatchError.Evaluate(pretrained, Batches(querySet).Select(b => b.Images),
            (i, batch) =>
            {
                using var g = new Generator((ulong)Seeds.Derive(seed, Seeds.Streams.MaskNoise, -2, i));
                return MaeDsl.Masking.DrawNoise(pretrained.Spec, batch, g);
            });
        string space = mse.NormalizePixels ? "per-patch normalised targets" : "normalised pixels";
        string verdict = mse.ModelBeatsBaseline ? "the model beats the baseline" : "WARNING: the model does NOT beat the baseline";
        Console.WriteLine(
            FormattableString.Invariant($"masked-patch MSE on {mse.Images} held-out images ({space}, mask ratio {pretrained.Spec.MaskRatio}): ") +
            FormattableString.Invariant(
                $"model {mse.Model:F4}, mean-visible-value baseline {mse.MeanVisibleBaseline:F4} — {verdict} ({mseClock.Elapsed.TotalSeconds:F0} s)"));
        if (trained.Accuracy <= random.Accuracy)
            Console.WriteLine("WARNING: the pre-trained encoder's k-NN accuracy does not beat the random-init encoder's: train longer or check the recipe");

        var figures = new Figures(trained, random, raw, mse, clock.Elapsed);
        Write(Path.Combine(outputDir, "results.json"), figures);
        return figures;
    }

    static void Write(string path, Figures f)
    {
        static JsonObject Knn(KnnResult r) => new() { ["accuracy"] = r.Accuracy, ["correct"] = r.Correct, ["total"] = r.Total, ["k"] = r.K,
            ["temperature"] = r.Temperature, ["memory_bank"] = r.MemoryBankSize };
        var json = new JsonObject
        {
            ["knn"] = new JsonObject { ["pretrained"] = Knn(f.Pretrained), ["random_init"] = Knn(f.RandomInit), ["raw_pixels"] = Knn(f.RawPixels) },
            ["masked_patch_mse"] = new JsonObject { ["model"] = f.Mse.Model, ["mean_visible_baseline"] = f.Mse.MeanVisibleBaseline, ["images"] = f.Mse.Images,
                ["normalize_pixels"] = f.Mse.NormalizePixels },
            ["evaluation_seconds"] = f.Elapsed.TotalSeconds,
        };
        MaeDsl.IO.AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        });
    }

    /// <summary>The machine-readable last line.</summary>
    public static string KnnLine(Figures f) => string.Create(CultureInfo.InvariantCulture,
        $"knn_accuracy pretrained={f.Pretrained.Accuracy:F4} random_init={f.RandomInit.Accuracy:F4} raw_pixels={f.RawPixels.Accuracy:F4}");
}

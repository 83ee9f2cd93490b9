// The raw-pixel baseline of docs/results.md: multinomial logistic regression on normalised pixels.
using MaeDsl.Data;
using MaeDsl.Evaluation;
using MaeDsl.Native;
using MaeDsl.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>
/// Multinomial logistic regression on the normalised pixels (the Fashion-MNIST benchmark's pixel baseline):
/// one Linear layer, cross-entropy, AdamW (lr 1e-3, wd 1e-4), 30 epochs of batch 256 on the fixed features.
/// </summary>
internal static class PixelLogisticRegression
{
    public const int DefaultEpochs = 30;

    /// <summary>Top-1 and top-5 accuracy (percent) on the held-out batches after training on the training batches.</summary>
    public static (double Top1, double Top5, int Epochs) Fit(BatchLoader train, BatchLoader test, int numClasses, long seed, int epochs = DefaultEpochs)
    {
        var (x, y) = Collect(train);
        var (xt, yt) = Collect(test);
        using (x) using (y) using (xt) using (yt)
            return Fit(x, y, xt, yt, numClasses, seed, epochs);
    }

    /// <summary>The same on feature tensors: <paramref name="x"/> [N, ...] (flattened), <paramref name="y"/> [N] int64 labels.</summary>
    public static (double Top1, double Top5, int Epochs) Fit(Tensor x, Tensor y, Tensor xTest, Tensor yTest, int numClasses, long seed,
        int epochs = DefaultEpochs)
    {
        if (epochs < 1) throw new ArgumentException($"epochs = {epochs} is invalid: must be >= 1");
        using var flat = x.flatten(1);
        using var flatTest = xTest.flatten(1);
        torch.random.manual_seed(seed);
        using var linear = nn.Linear(flat.shape[1], numClasses);
        using var optimizer = torch.optim.AdamW(linear.parameters(), lr: 1e-3, weight_decay: 1e-4);
        var rng = new Random((int)seed);
        long n = flat.shape[0];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            using var order = torch.tensor(Enumerable.Range(0, (int)n).OrderBy(_ => rng.Next()).Select(i => (long)i).ToArray());
            for (long start = 0; start < n; start += 256)
            {
                long begin = start;
                NoGcDuringTorch.Run(() => // as every training step here: no collection during libtorch's work
                {
                    using var scope = torch.NewDisposeScope();
                    var idx = order.narrow(0, begin, Math.Min(256, n - begin));
                    var loss = nn.functional.cross_entropy(linear.forward(flat.index_select(0, idx)), y.index_select(0, idx));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                });
            }
        }
        using var _ = torch.no_grad();
        using var logits = linear.forward(flatTest);
        var (c1, c5) = Accuracy.CorrectCounts(logits, yTest);
        return (100.0 * c1 / yTest.shape[0], 100.0 * c5 / yTest.shape[0], epochs);
    }

    static (Tensor X, Tensor Y) Collect(BatchLoader loader)
    {
        var xs = new List<Tensor>();
        var ys = new List<Tensor>();
        foreach (var b in loader.Epoch(0))
        {
            xs.Add(b.Images.flatten(1).clone());
            ys.Add(b.Labels.clone());
            b.Dispose();
        }
        var result = (torch.cat(xs, 0), torch.cat(ys, 0));
        foreach (var t in xs.Concat(ys)) t.Dispose();
        return result;
    }
}

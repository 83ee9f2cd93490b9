// Accuracy: timm's top-k accuracy and the meter that accumulates it over an evaluation pass.
using static TorchSharp.torch;

namespace MaeDsl.Evaluation;

/// <summary>
/// Top-k accuracy as timm's <c>accuracy(output, target, topk=(1, 5))</c> that engine_finetune.evaluate uses:
/// a sample counts for top-k when its label is among the k largest logits. k is capped at the number of classes.
/// </summary>
internal static class Accuracy
{
    /// <summary>How many of the batch's samples are correct at top-1 and at top-5.</summary>
    public static (long Top1, long Top5) CorrectCounts(Tensor logits, Tensor labels)
    {
        if (logits.dim() != 2) throw new ArgumentException($"Accuracy: logits must be [B, C], got [{string.Join(", ", logits.shape)}].", nameof(logits));
        if (labels.dim() != 1 || labels.shape[0] != logits.shape[0])
            throw new ArgumentException($"Accuracy: labels must be [{logits.shape[0]}], got [{string.Join(", ", labels.shape)}].", nameof(labels));
        return (Correct(logits, labels, 1), Correct(logits, labels, 5));
    }

    /// <summary>Samples whose label is among the top-k logits (k capped at C).</summary>
    public static long Correct(Tensor logits, Tensor labels, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "Accuracy: k must be ≥ 1.");
        using var scope = NewDisposeScope();
        int kk = (int)Math.Min(k, logits.shape[1]);
        var top = logits.topk(kk, dim: 1, largest: true, sorted: true).indexes;
        var hit = top.eq(labels.to(top.dtype).view(-1, 1)).any(1);
        return hit.sum().item<long>();
    }
}

/// <summary>Accumulates top-1/top-5 over an evaluation pass (percentages as timm reports them).</summary>
internal sealed class AccuracyMeter
{
    public long Samples { get; private set; }
    public long Top1Correct { get; private set; }
    public long Top5Correct { get; private set; }
    public double LossSum { get; private set; }

    /// <summary>Adds one batch; <paramref name="meanLoss"/> is the batch's mean loss (weighted by its size).</summary>
    public void Add(Tensor logits, Tensor labels, double meanLoss = double.NaN)
    {
        var (t1, t5) = Accuracy.CorrectCounts(logits, labels);
        long n = labels.shape[0];
        Samples += n;
        Top1Correct += t1;
        Top5Correct += t5;
        LossSum += meanLoss * n;
    }

    public double Top1 => Samples == 0 ? double.NaN : 100.0 * Top1Correct / Samples;
    public double Top5 => Samples == 0 ? double.NaN : 100.0 * Top5Correct / Samples;
    public double Loss => Samples == 0 ? double.NaN : LossSum / Samples;
}

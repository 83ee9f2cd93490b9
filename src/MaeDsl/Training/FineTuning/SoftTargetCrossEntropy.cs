// SoftTargetCrossEntropy: timm's loss on Mixup/CutMix soft targets, fine-tuning's criterion.
using MaeDsl.Data;
using static TorchSharp.torch;

namespace MaeDsl.Training.FineTuning;

/// <summary>
/// timm's SoftTargetCrossEntropy: <c>mean over the batch of Σ_c −target_c · log_softmax(logits)_c</c>. With the
/// targets of <see cref="Mixup"/> (mixed, label-smoothed) it is the fine-tuning criterion of main_finetune.py; with
/// smoothed one-hot targets (λ = 1) it equals timm's LabelSmoothingCrossEntropy.
/// </summary>
internal static class SoftTargetCrossEntropy
{
    /// <summary>The loss of <paramref name="logits"/> [B, C] against soft <paramref name="targets"/> [B, C] (rows summing to 1).</summary>
    public static Tensor Loss(Tensor logits, Tensor targets)
    {
        if (logits.dim() != 2)
            throw new ArgumentException($"SoftTargetCrossEntropy: logits must be [B, C], got [{string.Join(", ", logits.shape)}].", nameof(logits));
        if (!targets.shape.SequenceEqual(logits.shape))
            throw new ArgumentException(
                $"SoftTargetCrossEntropy: targets must have the logits' shape [{string.Join(", ", logits.shape)}], got [{string.Join(", ", targets.shape)}].",
                nameof(targets));
        return (-targets * nn.functional.log_softmax(logits, -1)).sum(-1).mean();
    }
}

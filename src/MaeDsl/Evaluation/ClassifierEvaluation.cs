// ClassifierEvaluation: the official engine_finetune.evaluate (eval mode, no grad, cross-entropy, top-1/top-5).
using MaeDsl.Native;
using static TorchSharp.torch;

namespace MaeDsl.Evaluation;

/// <summary>Top-1 / top-5 accuracy (percent) and mean cross-entropy of one evaluation pass.</summary>
public sealed record EvalResult(double Top1, double Top5, double Loss, long Samples);

/// <summary>engine_finetune.evaluate: eval mode, no grad, cross-entropy on hard labels, top-1/top-5 in percent.</summary>
internal static class ClassifierEvaluation
{
    /// <summary>One evaluation pass over (images, labels) batches; the model's training mode is restored afterwards.</summary>
    public static EvalResult Evaluate(nn.Module<Tensor, Tensor> model, IEnumerable<(Tensor Images, Tensor Labels)> batches)
    {
        var meter = new AccuracyMeter();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            foreach (var (images, labels) in batches)
            {
                NoGcDuringTorch.Run(() =>
                {
                    using var scope = NewDisposeScope();
                    var logits = model.forward(images);
                    var onDevice = Devices.To(labels, logits.device);
                    var loss = nn.functional.cross_entropy(logits, onDevice).item<float>();   // a sync point (docs/device.md)
                    meter.Add(logits, onDevice, loss);
                });
            }
        }
        finally { model.train(wasTraining); }
        if (meter.Samples == 0) throw new ArgumentException("Evaluate: the evaluation data yielded no batch.", nameof(batches));
        return new EvalResult(meter.Top1, meter.Top5, meter.Loss, meter.Samples);
    }
}

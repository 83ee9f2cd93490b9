// PretrainedEncoder: loads a pre-trained MAE's encoder into a classifier by name (the official --finetune route
// of main_finetune.py and main_linprobe.py).
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Checkpoints;

/// <summary>
/// The official --finetune loading: reads a pre-trained MAE's weights (.safetensors, or a .pth state_dict /
/// checkpoint), drops a head of another shape, interpolates pos_embed to the model's grid, loads non-strictly and
/// checks, as the official code asserts, that exactly the allowed keys (the head, and fc_norm with global pooling)
/// are missing.
/// </summary>
internal static class PretrainedEncoder
{
    /// <summary>
    /// Loads <paramref name="weightsPath"/>'s encoder into <paramref name="model"/> by name (pos_embed interpolated,
    /// mis-shaped head dropped) and asserts that exactly <paramref name="allowedMissing"/> are missing.
    /// </summary>
    public static LoadReport Load(nn.Module model, string weightsPath, IReadOnlyCollection<string> allowedMissing, Action<string>? log) =>
        Native.NoGcDuringTorch.Run(() =>
        {
            var checkpoint = StateDicts.Read(weightsPath);
            try
            {
                var own = model.state_dict();
                foreach (var key in new[] { "head.weight", "head.bias" })
                    if (checkpoint.TryGetValue(key, out var t) && (!own.TryGetValue(key, out var mine) || !mine.shape.SequenceEqual(t.shape)))
                    {
                        log?.Invoke($"Removing key {key} from pretrained checkpoint");
                        checkpoint.Remove(key);
                        t.Dispose();
                    }
                if (own.TryGetValue("pos_embed", out var pos) && checkpoint.ContainsKey("pos_embed"))
                {
                    int grid = (int)Math.Round(Math.Sqrt(pos.shape[1] - 1));
                    try { PosEmbedInterpolation.InterpolateInStateDict(checkpoint, grid, 1, log); }
                    catch (ArgumentException e)
                    {
                        throw new StateDictMismatchException(
                            $"{weightsPath}: its pos_embed [{string.Join(", ", checkpoint["pos_embed"].shape)}] does not fit {model.GetName()}'s " +
                            $"[{string.Join(", ", pos.shape)}] ({e.Message.Split(" (Parameter")[0]}); is it the encoder of another model?");
                    }
                }
                var report = StateDicts.Load(model, checkpoint, strict: false, weightsPath);
                log?.Invoke($"Loaded {weightsPath}: {report.Loaded.Count} keys; missing keys: [{string.Join(", ", report.Missing)}]; unexpected keys: " +
                    $"{report.Unexpected.Count}");
                var missing = report.Missing.ToHashSet();
                if (!missing.SetEquals(allowedMissing))
                    throw new StateDictMismatchException(
                        $"{weightsPath} is not a pre-trained encoder for {model.GetName()}: the missing keys must be exactly " +
                            $"[{string.Join(", ", allowedMissing)}] " +
                        $"(as the official code asserts), got [{string.Join(", ", report.Missing)}].");
                return report;
            }
            finally { foreach (var t in checkpoint.Values) t.Dispose(); }
        });
}

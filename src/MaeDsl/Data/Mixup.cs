// Mixup: timm's Mixup/CutMix with label smoothing, fine-tuning's batch augmentation.
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Data;

/// <summary>A CutMix box in pixel coordinates: rows [Top, Bottom), columns [Left, Right).</summary>
internal readonly record struct CutBox(int Top, int Bottom, int Left, int Right)
{
    public int Area => (Bottom - Top) * (Right - Left);
}

/// <summary>What one call of <see cref="Mixup.Apply"/> drew: λ (after the CutMix area correction), and the box when CutMix was used.</summary>
internal readonly record struct MixupDraw(double Lambda, bool UsedCutmix, CutBox? Box);

/// <summary>
/// Mixup and CutMix in batch mode, as timm's <c>Mixup</c> that main_finetune.py uses (mixup 0.8, cutmix 1.0,
/// prob 1.0, switch prob 0.5, label smoothing 0.1). Per batch: with probability <c>prob</c> mix; then CutMix
/// with probability <c>switch_prob</c> (when both are enabled), λ ~ Beta(α, α) of the chosen method. Mixup
/// blends every image with the batch's flip: <c>λ·x + (1−λ)·flip(x)</c>. CutMix pastes a box of flip(x) whose
/// side is <c>int(H·√(1−λ))</c> around a uniform centre, clipped at the border, and corrects λ to
/// <c>1 − box area / (H·W)</c>. Targets are <c>λ·smooth(y) + (1−λ)·smooth(flip(y))</c> with
/// smooth = one-hot with on 1 − s + s/C and off s/C. Only the official "batch" mode is implemented.
/// </summary>
internal sealed class Mixup
{
    readonly Random random;

    /// <param name="numClasses">C, the number of classes of the soft targets.</param>
    /// <param name="mixupAlpha">Beta parameter of mixup; mixup is enabled when &gt; 0 (0.8 in the official command).</param>
    /// <param name="cutmixAlpha">Beta parameter of CutMix; CutMix is enabled when &gt; 0 (1.0 in the official command).</param>
    /// <param name="prob">Probability of mixing a batch at all (1.0).</param>
    /// <param name="switchProb">Probability of CutMix instead of mixup when both are enabled (0.5).</param>
    /// <param name="labelSmoothing">Label smoothing folded into the targets (0.1).</param>
    /// <param name="seed">Seed of the draws (λ, method, box).</param>
    public Mixup(int numClasses, double mixupAlpha = 0.8, double cutmixAlpha = 1.0, double prob = 1.0,
        double switchProb = 0.5, double labelSmoothing = 0.1, int seed = 0)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "Mixup: numClasses must be ≥ 1.");
        if (mixupAlpha < 0) throw new ArgumentOutOfRangeException(nameof(mixupAlpha), mixupAlpha, "Mixup: mixup alpha must be ≥ 0 (0 disables mixup).");
        if (cutmixAlpha < 0) throw new ArgumentOutOfRangeException(nameof(cutmixAlpha), cutmixAlpha, "Mixup: cutmix alpha must be ≥ 0 (0 disables CutMix).");
        if (mixupAlpha == 0 && cutmixAlpha == 0) throw new ArgumentException("Mixup: one of mixup alpha and cutmix alpha must be > 0.", nameof(mixupAlpha));
        if (prob is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(prob), prob, "Mixup: prob must be in [0, 1].");
        if (switchProb is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(switchProb), switchProb, "Mixup: switch prob must be in [0, 1].");
        if (labelSmoothing is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing,
            "Mixup: label smoothing must be in [0, 1).");
        NumClasses = numClasses;
        MixupAlpha = mixupAlpha;
        CutmixAlpha = cutmixAlpha;
        Prob = prob;
        SwitchProb = switchProb;
        LabelSmoothing = labelSmoothing;
        random = new Random(seed);
    }

    public int NumClasses { get; }
    public double MixupAlpha { get; }
    public double CutmixAlpha { get; }
    public double Prob { get; }
    public double SwitchProb { get; }
    public double LabelSmoothing { get; }

    /// <summary>
    /// Mixes a batch: returns new images (the input is not modified) and soft targets [B, C] (float32).
    /// <paramref name="images"/> is [B, C, H, W] with B even; <paramref name="labels"/> is [B] int64.
    /// The draws come from <paramref name="random"/> when given (a runner passes one derived from (seed, epoch,
    /// step) so that a resumed run draws the same), else from this instance's own seeded generator.
    /// </summary>
    public (Tensor Images, Tensor Targets, MixupDraw Draw) Apply(Tensor images, Tensor labels, Random? random = null)
    {
        random ??= this.random;
        if (images.dim() != 4) throw new ArgumentException($"Mixup.Apply: images must be [B, C, H, W], got [{string.Join(", ", images.shape)}].",
            nameof(images));
        long b = images.shape[0];
        if (b % 2 != 0) throw new ArgumentException($"Mixup.Apply: the batch size must be even (timm mixes image i with image B−1−i), got {b}.",
            nameof(images));
        if (labels.dim() != 1 || labels.shape[0] != b) throw new ArgumentException(
            $"Mixup.Apply: labels must be [{b}], got [{string.Join(", ", labels.shape)}].", nameof(labels));

        var (lam, useCutmix) = DrawParameters(random);
        int h = (int)images.shape[2], w = (int)images.shape[3];
        Tensor mixed;
        CutBox? box = null;
        using (torch.no_grad())
        {
            if (lam == 1.0)
            {
                mixed = images.clone();
            }
            else if (useCutmix)
            {
                var (bx, corrected) = CutmixBoxAndLambda(h, w, lam, random);
                box = bx;
                lam = corrected;
                mixed = images.clone();
                if (bx.Area > 0)
                {
                    var source = MetaSubstitutes.FlipBatch(images).narrow(2, bx.Top, bx.Bottom - bx.Top).narrow(3, bx.Left, bx.Right - bx.Left);
                    mixed.narrow(2, bx.Top, bx.Bottom - bx.Top).narrow(3, bx.Left, bx.Right - bx.Left).copy_(source);
                }
            }
            else
            {
                mixed = images * lam + MetaSubstitutes.FlipBatch(images) * (1.0 - lam);
            }
        }
        var targets = MixupTarget(labels, NumClasses, lam, LabelSmoothing).to(images.device);
        return (mixed, targets, new MixupDraw(lam, box is not null, box));
    }

    /// <summary>timm's _params_per_batch: (λ, use CutMix).</summary>
    (double Lambda, bool UseCutmix) DrawParameters(Random random)
    {
        if (!(random.NextDouble() < Prob)) return (1.0, false);
        if (MixupAlpha > 0 && CutmixAlpha > 0)
        {
            bool useCutmix = random.NextDouble() < SwitchProb;
            return (SampleBeta(random, useCutmix ? CutmixAlpha : MixupAlpha), useCutmix);
        }
        if (MixupAlpha > 0) return (SampleBeta(random, MixupAlpha), false);
        return (SampleBeta(random, CutmixAlpha), true);
    }

    /// <summary>One-hot with on <c>1 − s + s/C</c> and off <c>s/C</c> (float32, [B, C]).</summary>
    public static Tensor SmoothOneHot(Tensor labels, int numClasses, double smoothing)
    {
        if (labels.dim() != 1) throw new ArgumentException($"Mixup.SmoothOneHot: labels must be [B], got [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (labels.numel() > 0)
        {
            long min = labels.min().item<long>(), max = labels.max().item<long>();
            if (min < 0 || max >= numClasses)
                throw new ArgumentException($"Mixup.SmoothOneHot: labels must be in [0, {numClasses}), got values in [{min}, {max}].", nameof(labels));
        }
        double off = smoothing / numClasses, on = 1.0 - smoothing + off;
        var oneHot = nn.functional.one_hot(labels.to(ScalarType.Int64), numClasses).to(ScalarType.Float32);
        return oneHot * (on - off) + off;
    }

    /// <summary>timm's mixup_target: <c>λ·smooth(y) + (1−λ)·smooth(flip(y))</c>.</summary>
    public static Tensor MixupTarget(Tensor labels, int numClasses, double lambda, double smoothing)
    {
        var y1 = SmoothOneHot(labels, numClasses, smoothing);
        var y2 = SmoothOneHot(labels.flip(0), numClasses, smoothing);
        return y1 * lambda + y2 * (1.0 - lambda);
    }

    /// <summary>
    /// timm's rand_bbox + cutmix_bbox_and_lam (margin 0, λ corrected): side <c>int(H·√(1−λ))</c> × <c>int(W·√(1−λ))</c>
    /// around a centre uniform in [0, H) × [0, W), each edge at centre ± side//2 clipped to the image; returns the box
    /// and <c>1 − area / (H·W)</c>.
    /// </summary>
    public static (CutBox Box, double Lambda) CutmixBoxAndLambda(int height, int width, double lambda, Random random)
    {
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height),
            $"Mixup.CutmixBoxAndLambda: image size must be positive, got {height}×{width}.");
        if (lambda is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "Mixup.CutmixBoxAndLambda: λ must be in [0, 1].");
        double ratio = Math.Sqrt(1.0 - lambda);
        int cutH = (int)(height * ratio), cutW = (int)(width * ratio);
        int cy = random.Next(0, height), cx = random.Next(0, width);
        int top = Math.Clamp(cy - cutH / 2, 0, height), bottom = Math.Clamp(cy + cutH / 2, 0, height);
        int left = Math.Clamp(cx - cutW / 2, 0, width), right = Math.Clamp(cx + cutW / 2, 0, width);
        var box = new CutBox(top, bottom, left, right);
        return (box, 1.0 - box.Area / (double)(height * width));
    }

    /// <summary>Beta(α, α) as X / (X + Y) with X, Y ~ Gamma(α, 1).</summary>
    public static double SampleBeta(Random random, double alpha)
    {
        double x = SampleGamma(random, alpha), y = SampleGamma(random, alpha);
        return x + y > 0 ? x / (x + y) : 0.5;
    }

    /// <summary>Gamma(shape, 1) by Marsaglia–Tsang; shape &lt; 1 through Gamma(shape + 1)·U^(1/shape).</summary>
    static double SampleGamma(Random random, double shape)
    {
        if (shape < 1)
        {
            double u = 1.0 - random.NextDouble(); // (0, 1]
            return SampleGamma(random, shape + 1) * Math.Pow(u, 1.0 / shape);
        }
        double d = shape - 1.0 / 3.0, c = 1.0 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = SampleNormal(random);
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = random.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x) return d * v;
            if (Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }

    static double SampleNormal(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}

// LrSchedule: util/lr_sched.py (warmup + half-cycle cosine, evaluated per iteration) and the one lr setter.
using TorchSharp;

namespace MaeDsl.Training.Optimization;

/// <summary>
/// The official pre-training schedule (util/lr_sched.py): linear warmup from 0 to the peak lr over
/// <c>WarmupEpochs</c>, then a half-cycle cosine down to <c>MinLr</c> at <c>Epochs</c>. It is evaluated
/// per iteration at the fractional epoch <c>data_iter_step / len(data_loader) + epoch</c>.
/// </summary>
/// <param name="PeakLr">The absolute lr: blr × effective batch / 256.</param>
/// <param name="MinLr">The floor the cosine reaches at the last epoch (official default 0).</param>
/// <param name="WarmupEpochs">Epochs of linear warmup (official 40); may be fractional for short runs, and longer than the run.</param>
/// <param name="Epochs">Total epochs of the run.</param>
public sealed record LrSchedule(double PeakLr, double MinLr, double WarmupEpochs, double Epochs)
{
    public double PeakLr { get; } = PeakLr >= 0 && double.IsFinite(PeakLr) ? PeakLr
        : throw new ArgumentOutOfRangeException(nameof(PeakLr), PeakLr, "the peak lr must be a finite number >= 0");
    public double MinLr { get; } = MinLr >= 0 && MinLr <= PeakLr ? MinLr
        : throw new ArgumentOutOfRangeException(nameof(MinLr), MinLr, $"min lr must be in [0, peak lr {PeakLr}]");
    public double Epochs { get; } = Epochs > 0 ? Epochs
        : throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "epochs must be > 0");
    /// <summary>Warmup epochs; as in util/lr_sched.py they may reach or pass <see cref="Epochs"/>: the lr then rises for the whole run
    /// and never finishes its warmup (a one-epoch run of a recipe whose default warmup is 5).</summary>
    public double WarmupEpochs { get; } = WarmupEpochs >= 0 && double.IsFinite(WarmupEpochs) ? WarmupEpochs
        : throw new ArgumentOutOfRangeException(nameof(WarmupEpochs), WarmupEpochs, "warmup epochs must be a finite number >= 0");

    /// <summary>The absolute lr from the base lr: blr × effective batch / 256, as main_pretrain.py computes it.</summary>
    public static double AbsoluteLr(double blr, int effectiveBatch) => blr * effectiveBatch / 256.0;

    /// <summary>The fractional epoch the official loop passes to adjust_learning_rate: step / stepsPerEpoch + epoch.</summary>
    public static double FractionalEpoch(int epoch, int dataIterStep, int stepsPerEpoch) =>
        (double)dataIterStep / stepsPerEpoch + epoch;

    /// <summary>The lr at a fractional epoch.</summary>
    public double At(double epoch)
    {
        if (epoch < WarmupEpochs)
            return PeakLr * epoch / WarmupEpochs;
        double progress = (epoch - WarmupEpochs) / (Epochs - WarmupEpochs);
        return MinLr + (PeakLr - MinLr) * 0.5 * (1.0 + Math.Cos(Math.PI * progress));
    }

    /// <summary>
    /// Sets the lr at <paramref name="epoch"/> on every param group, times the group's scale, and returns the
    /// unscaled lr: the official <c>lr_sched.adjust_learning_rate</c>.
    /// </summary>
    public double Apply(torch.optim.Optimizer optimizer, double epoch, IReadOnlyList<double>? lrScales = null)
    {
        double lr = At(epoch);
        SetLearningRate(optimizer, lr, lrScales);
        return lr;
    }

    /// <summary>
    /// The one lr setter: group i gets <c>lr × lrScales[i]</c> (<c>param_group["lr"] = lr * param_group["lr_scale"]</c>
    /// when the group has a scale, as the layer-decay groups do); null scales, or groups without decay scaling
    /// (AdamW's weight-decay groups, LARS), get scale 1, i.e. exactly <paramref name="lr"/>.
    /// </summary>
    public static void SetLearningRate(torch.optim.Optimizer optimizer, double lr, IReadOnlyList<double>? lrScales = null)
    {
        var groups = optimizer.ParamGroups.ToList();
        if (lrScales is not null && lrScales.Count != groups.Count)
            throw new ArgumentException(
                $"LrSchedule.SetLearningRate: the optimizer has {groups.Count} param groups, but {lrScales.Count} lr scales were given.", nameof(lrScales));
        for (int i = 0; i < groups.Count; i++)
            groups[i].LearningRate = lrScales is null ? lr : lr * lrScales[i];
    }
}

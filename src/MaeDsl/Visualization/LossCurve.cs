// LossCurve: the PNG of a run's loss (and lr) per iteration.
using MaeDsl.IO;
using ScottPlot;

namespace MaeDsl.Visualization;

/// <summary>Loss-curve PNGs drawn with ScottPlot 5: loss per step (and a moving average when noisy), optionally the learning rate on a right axis.</summary>
internal static class LossCurve
{
    /// <summary>
    /// Writes the curve atomically (temporary file, then rename) and returns the full path.
    /// Non-finite losses are left out and counted in the title.
    /// </summary>
    /// <param name="path">Output PNG.</param>
    /// <param name="steps">Global step of each point.</param>
    /// <param name="losses">Loss at each step.</param>
    /// <param name="learningRates">Optional lr at each step (same length), drawn on the right axis.</param>
    /// <param name="title">Title; default "training loss".</param>
    /// <param name="width">Picture width in pixels.</param>
    /// <param name="height">Picture height in pixels.</param>
    public static string Save(string path, IReadOnlyList<long> steps, IReadOnlyList<double> losses,
        IReadOnlyList<double>? learningRates = null, string? title = null, int width = 900, int height = 540)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(steps); ArgumentNullException.ThrowIfNull(losses);
        if (steps.Count != losses.Count)
            throw new ArgumentException($"LossCurve: {steps.Count} steps but {losses.Count} losses.", nameof(losses));
        if (learningRates is not null && learningRates.Count != steps.Count)
            throw new ArgumentException($"LossCurve: {steps.Count} steps but {learningRates.Count} learning rates.", nameof(learningRates));
        if (width < 100 || height < 100)
            throw new ArgumentOutOfRangeException(nameof(width), $"LossCurve: the picture must be at least 100×100, got {width}×{height}.");
        var finite = Enumerable.Range(0, steps.Count).Where(i => double.IsFinite(losses[i])).ToArray();
        if (finite.Length == 0)
            throw new ArgumentException($"LossCurve: no finite loss to draw ({steps.Count} points given).", nameof(losses));

        var plot = new Plot();
        double[] xs = finite.Select(i => (double)steps[i]).ToArray();
        double[] ys = finite.Select(i => losses[i]).ToArray();
        var raw = plot.Add.ScatterLine(xs, ys);
        raw.LegendText = "loss";
        if (ys.Length >= 20)
        {
            raw.Color = raw.Color.WithAlpha(0.35);
            int window = Math.Max(5, ys.Length / 50);
            var smooth = plot.Add.ScatterLine(xs, MovingAverage(ys, window));
            smooth.LegendText = $"loss (moving average of {window})";
            smooth.LineWidth = 2;
        }
        if (learningRates is not null)
        {
            var lr = plot.Add.ScatterLine(steps.Select(s => (double)s).ToArray(), learningRates.ToArray());
            lr.LegendText = "lr";
            lr.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "learning rate";
        }
        plot.XLabel("step");
        plot.YLabel("loss");
        int omitted = steps.Count - finite.Length;
        plot.Title((title ?? "training loss") + (omitted > 0 ? $" ({omitted} non-finite points omitted)" : ""));
        plot.ShowLegend(Alignment.UpperRight);
        byte[] png = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
        return Path.GetFullPath(path);
    }

    /// <summary>Same, from (step, loss) pairs.</summary>
    public static string Save(string path, IReadOnlyList<(long Step, double Loss)> points, string? title = null)
        => Save(path, points.Select(p => p.Step).ToArray(), points.Select(p => p.Loss).ToArray(), null, title);

    static double[] MovingAverage(double[] ys, int window)
    {
        var result = new double[ys.Length];
        double sum = 0;
        for (int i = 0; i < ys.Length; i++)
        {
            sum += ys[i];
            if (i >= window) sum -= ys[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}

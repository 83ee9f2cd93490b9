// AblationPlot: a sweep's PNG in the paper's form: top-1 against the swept setting, one line per protocol, with the
// raw-pixel and random-encoder baselines as flat dashed lines in the protocol's colour.
using System.Globalization;
using MaeDsl.Experiments;
using MaeDsl.IO;
using ScottPlot;

namespace MaeDsl.Visualization;

/// <summary>The plot of one sweep (Fig. 5's accuracy against the masking ratio, and so on) drawn with ScottPlot 5.</summary>
internal static class AblationPlot
{
    public const int Width = 900, Height = 560;

    /// <summary>The protocols, in the order and colours every sweep's plot uses.</summary>
    public static readonly (string Name, Func<AblationRow, double> Top1, Color Color)[] Protocols =
    [
        ("k-NN", r => r.Knn, Colors.SteelBlue),
        ("linear probe", r => r.LinearProbe, Colors.DarkOrange),
        ("fine-tune", r => r.FineTune, Colors.SeaGreen),
    ];

    /// <summary>The plot: one line with markers per protocol that has a finite accuracy at some point, and the baselines.</summary>
    public static Plot Build(Ablation a, IReadOnlyList<AblationRow> rows, AblationBaselines? baselines, string? subtitle = null)
    {
        var ran = rows.Where(r => !r.Failed).OrderBy(r => r.X).ToArray();
        var plot = new Plot();
        double X(AblationRow r) => a.LogAxis ? Math.Log2(r.X) : r.X;
        foreach (var (name, top1, color) in Protocols)
        {
            var points = ran.Where(r => double.IsFinite(top1(r))).ToArray();
            if (points.Length == 0) continue;
            var line = plot.Add.Scatter(points.Select(X).ToArray(), points.Select(top1).ToArray(), color);
            line.LegendText = name;
            line.LineWidth = 2;
            line.MarkerSize = 8;
        }
        if (baselines is { } b)
            foreach (var (name, knn, linear, ft) in AblationResults.BaselineRows(b))
                foreach (var (protocol, value) in new[] { ("k-NN", knn), ("linear probe", linear), ("fine-tune", ft) })
                {
                    if (!double.IsFinite(value)) continue;
                    var color = Protocols.First(p => p.Name == protocol).Color;
                    var flat = plot.Add.HorizontalLine(value, 1, color.WithAlpha(name == "raw pixels" ? 0.9 : 0.5), LinePattern.Dashed);
                    flat.LegendText = $"{name} ({(name == "raw pixels" && protocol == "linear probe" ? "logistic regression" : protocol)})";
                }
        // the ticks are the points' own settings (ratios, depths, names), drawn where each sits
        var ticks = ran.GroupBy(r => r.X).Select(g => g.First()).ToArray();
        if (ticks.Length > 0)
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.Select(X).ToArray(), ticks.Select(r => r.Label).ToArray());
        if (ticks.Length > 0)
        {
            double lo = ticks.Min(X), hi = ticks.Max(X), pad = Math.Max((hi - lo) * 0.08, 0.3);
            plot.Axes.SetLimitsX(lo - pad, hi + pad);
        }
        plot.XLabel(a.Axis + (a.LogAxis ? " (log scale)" : ""));
        plot.YLabel("top-1 accuracy (%)");
        plot.Title(string.Create(CultureInfo.InvariantCulture, $"{a.Title} ({a.Paper}){(subtitle is null ? "" : "\n" + subtitle)}"));
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    /// <summary>Writes the plot as a PNG of <see cref="Width"/>×<see cref="Height"/> (atomically) and returns its full path.</summary>
    public static string Save(string path, Ablation a, IReadOnlyList<AblationRow> rows, AblationBaselines? baselines, string? subtitle = null)
    {
        byte[] png = Build(a, rows, baselines, subtitle).GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
        return Path.GetFullPath(path);
    }
}

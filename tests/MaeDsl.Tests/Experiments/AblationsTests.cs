// The sweeps' points (Ablations), the sweep's CSV and Markdown (AblationResults), its plot (AblationPlot) and the masks
// picture (MaskGallery), on models made here: no training.
using System.Buffers.Binary;
using MaeDsl.Data;
using MaeDsl.Experiments;
using MaeDsl.Visualization;
using ScottPlot.Plottables;
using static TorchSharp.torch;

namespace MaeDsl.Tests.Experiments;

public class AblationsTests
{
    static readonly MaeSpec Tiny = new(28, 4, 1, 4, 64, 4, 4.0, 0, 2, 64, 4, 4.0, 0.75, MaskingStrategy.Random, false, false);

    static MaeModelInfo Model(string key, MaeSpec spec) =>
        new(key, key, "Test." + key, key, spec, false, typeof(AblationsTests).Assembly,
            (seed, masking) => new SpecMae(masking is null ? spec : masking.ApplyTo(spec), seed));

    static readonly MaeModelInfo Base = Model("tiny", Tiny);

    static readonly IReadOnlyList<MaeModelInfo> Registered =
    [
        Base, Model("tiny-decoder1", Tiny with { DecoderDepth = 1 }), Model("tiny-decoder8", Tiny with { DecoderDepth = 8 }),
        Model("tiny-decoder8-wide", Tiny with { DecoderDepth = 8, DecoderWidth = 128 }),   // differs in two settings: in no sweep
        Model("tiny-w128", Tiny with { DecoderWidth = 128 }), Model("tiny-normpix", Tiny with { NormalizePixels = true }),
        Model("tiny-patch7", Tiny with { PatchSize = 7 }),
    ];

    [Fact]
    public void The_ratio_sweep_runs_the_papers_grid_in_order_and_its_075_point_is_the_base_model_itself()
    {
        var points = Ablations.Points(Ablations.Ratio, Base, Registered, epochs: 3);
        Assert.Equal([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9], points.Select(p => p.X));
        Assert.All(points, p => Assert.Equal(3, p.Epochs));
        Assert.All(points, p => Assert.Same(Base, p.Model));
        Assert.Null(points.Single(p => p.X == 0.75).Masking);   // the declared model as it is: the run every sweep's base point shares
        Assert.Equal(0.3, points.Single(p => p.Name == "ratio-0.3").Spec.MaskRatio);
    }

    [Theory]
    [InlineData("1.2", "ratio 1.2 cannot be run")]
    [InlineData("0.99", "ratio 0.99 cannot be run")]   // leaves no visible patch of 49
    [InlineData("half", "'half' is not a masking ratio")]
    public void A_ratio_point_that_cannot_run_is_refused_before_any_work_naming_it(string value, string expected)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Ablations.Points(Ablations.Ratio, Base, Registered, 3, ["0.5", value]));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("--points: ", e.Message);
    }

    [Fact]
    public void The_masking_sweep_leaves_grid_out_on_an_odd_grid_and_says_why_but_runs_all_three_on_an_even_one()
    {
        var notes = new List<string>();
        var odd = Ablations.Points(Ablations.Strategy, Base, Registered, 3, notes: notes);
        Assert.Equal(["masking-random", "masking-block"], odd.Select(p => p.Name));
        Assert.Contains("grid masking left out", Assert.Single(notes));
        var patch7 = Registered.Single(m => m.Key == "tiny-patch7");   // 4×4 grid
        var even = Ablations.Points(Ablations.Strategy, patch7, Registered, 3, notes: notes);
        Assert.Equal([MaskingStrategy.Random, MaskingStrategy.Block, MaskingStrategy.Grid], even.Select(p => p.Spec.Masking));
        Assert.All(even, p => Assert.Equal(0.75, p.Spec.MaskRatio));
        // asked for by name, grid on an odd grid is an error, not a silent omission
        var e = Assert.ThrowsAny<ArgumentException>(() => Ablations.Points(Ablations.Strategy, Base, Registered, 3, ["grid"]));
        Assert.Contains("grid masking cannot be run on tiny", e.Message);
    }

    [Fact]
    public void A_model_sweep_takes_the_declared_models_that_differ_from_the_base_in_that_one_setting()
    {
        var depth = Ablations.Points(Ablations.DecoderDepth, Base, Registered, 3);
        Assert.Equal(["tiny-decoder1", "tiny", "tiny-decoder8"], depth.Select(p => p.Model.Key));   // not tiny-decoder8-wide
        Assert.Equal([1.0, 2, 8], depth.Select(p => p.X));
        var width = Ablations.Points(Ablations.DecoderWidth, Base, Registered, 3);
        Assert.Equal(["tiny", "tiny-w128"], width.Select(p => p.Model.Key));
        var target = Ablations.Points(Ablations.Target, Base, Registered, 3);
        Assert.Equal(["target-pix", "target-norm-pix"], target.Select(p => p.Name));
        Assert.Equal([false, true], target.Select(p => p.Spec.NormalizePixels));
        // the chosen depths, each of which must be declared
        Assert.Equal([2.0, 8], Ablations.Points(Ablations.DecoderDepth, Base, Registered, 3, ["8", "2"]).Select(p => p.X));
        var missing = Assert.ThrowsAny<ArgumentException>(() => Ablations.Points(Ablations.DecoderDepth, Base, Registered, 3, ["4"]));
        Assert.Contains("no declared model has decoder blocks 4 and is otherwise tiny: declare one", missing.Message);
        var none = Assert.ThrowsAny<ArgumentException>(() => Ablations.Points(Ablations.MaskToken, Base, Registered, 3));
        Assert.Contains("declare one", none.Message);
    }

    [Theory]
    [InlineData(3, new[] { 1, 2, 3 })]
    [InlineData(8, new[] { 1, 2, 4, 8 })]
    [InlineData(16, new[] { 2, 4, 8, 16 })]
    public void The_length_sweep_doubles_up_to_the_epochs(int epochs, int[] expected)
    {
        var points = Ablations.Points(Ablations.Length, Base, Registered, epochs);
        Assert.Equal(expected, points.Select(p => p.Epochs));
        Assert.Equal(expected.Select(e => (double)e), points.Select(p => p.X));
        Assert.All(points, p => Assert.Null(p.Masking));
    }

    [Fact]
    public void A_sweep_name_that_does_not_exist_lists_the_sweeps() =>
        Assert.Contains("choose one of ratio, decoder-depth, decoder-width, mask-token, target, masking, length",
            Assert.ThrowsAny<ArgumentException>(() => Ablations.Find("ratios")).Message);

    static AblationRow Row(string point, double x, double knn, double probe, double ft, string? error = null) =>
        new("ratio", point, "MaeFashionTiny", x, x.ToString(System.Globalization.CultureInfo.InvariantCulture), 3, 180_000, 0.61, knn, probe, ft, 90, 30, 200, 2, error);

    static readonly AblationBaselines Baselines = new(83.3, 83.6, 61.5, 54.9, 78.5, 40);

    [Fact]
    public void The_csv_has_a_line_per_point_failed_ones_with_their_reason_and_a_line_per_baseline()
    {
        var rows = new[] { Row("ratio-0.5", 0.5, 77.1, 70.2, 81.0), Row("ratio-0.9", 0.9, double.NaN, double.NaN, double.NaN, "damaged, \"twice\"") };
        var lines = AblationResults.Csv(rows, Baselines).TrimEnd('\n').Split('\n');
        Assert.Equal(AblationResults.CsvHeader, lines[0]);
        Assert.Equal(1 + 2 + 2, lines.Length);
        Assert.Equal("ratio,ratio-0.5,MaeFashionTiny,0.5,0.5,3,180000,0.6100,77.10,70.20,81.00,90.0,30.0,200.0,2,ok", lines[1]);
        Assert.EndsWith(",2,\"damaged, \"\"twice\"\"\"", lines[2]);
        Assert.StartsWith("baseline,raw pixels,", lines[3]);
        Assert.StartsWith("baseline,random encoder,", lines[4]);
        Assert.All(lines, l => Assert.Equal(16, SplitCsv(l).Count));
        string md = AblationResults.Markdown(Ablations.Ratio, rows, Baselines);
        Assert.Contains("| 0.5 | MaeFashionTiny | 77.10% | 70.20% | 81.00% | 3 ep, 90 s | 0.6100 | 30 s |", md);
        Assert.Contains("failed: damaged", md);
        Assert.Contains("| *raw pixels* | | 83.30% | 83.60% (logistic regression) | – |", md);
    }

    static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return fields;
    }

    [Fact]
    public void The_plot_has_one_line_per_protocol_that_ran_and_the_baselines_as_flat_lines()
    {
        var withFineTune = new[] { Row("ratio-0.5", 0.5, 77, 70, 81), Row("ratio-0.75", 0.75, 78, 71, 82) };
        var plot = AblationPlot.Build(Ablations.Ratio, withFineTune, Baselines);
        Assert.Equal(["k-NN", "linear probe", "fine-tune"], plot.GetPlottables().OfType<Scatter>().Select(s => s.LegendText));
        // raw pixels: k-NN and logistic regression; random encoder: k-NN, linear probe, from scratch
        Assert.Equal(5, plot.GetPlottables().OfType<HorizontalLine>().Count());
        var noFineTune = withFineTune.Select(r => r with { FineTune = double.NaN }).ToArray();
        var probesOnly = AblationPlot.Build(Ablations.Ratio, noFineTune, Baselines with { FineTuneScratch = double.NaN });
        Assert.Equal(["k-NN", "linear probe"], probesOnly.GetPlottables().OfType<Scatter>().Select(s => s.LegendText));
        // a failed point is not drawn
        var failed = AblationPlot.Build(Ablations.Ratio, [.. withFineTune, Row("ratio-0.9", 0.9, double.NaN, double.NaN, double.NaN, "broken")], null);
        Assert.All(failed.GetPlottables().OfType<Scatter>(), s => Assert.Equal(2, s.Data.GetScatterPoints().Count));
    }

    [Fact]
    public void The_plot_is_a_png_of_its_size()
    {
        using var dir = new TempFolder();
        string path = AblationPlot.Save(Path.Combine(dir.Path, "ratio.png"), Ablations.Ratio, [Row("ratio-0.5", 0.5, 77, 70, 81)], Baselines);
        Assert.Equal((AblationPlot.Width, AblationPlot.Height), PngSize(path));
    }

    [Fact]
    public void The_masks_picture_has_a_row_per_image_and_a_column_per_strategy_beside_the_original()
    {
        using var dir = new TempFolder();
        using var images = randn(3, 1, 28, 28);
        var specs = new[] { Tiny, Tiny with { Masking = MaskingStrategy.Block, MaskRatio = 0.5 }, Tiny with { Masking = MaskingStrategy.Block } };
        string path = MaskGallery.Save(Path.Combine(dir.Path, "masks.png"), images, specs, Normalization.FashionMnist, seed: 0);
        int tile = 28 * ReconstructionGrid.AutoScale(28), sep = ReconstructionGrid.Separator;
        Assert.Equal((4 * tile + 5 * sep, 3 * tile + 4 * sep), PngSize(path));
    }

    static (int Width, int Height) PngSize(string path)
    {
        byte[] head = File.ReadAllBytes(path)[..24];
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }, head[..8]);
        return (BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(20)));
    }

    sealed class TempFolder : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"maedsl-ablations-{Guid.NewGuid():N}");
        public TempFolder() => Directory.CreateDirectory(Path);
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}

// The results command's writers: summary.csv and docs/results.md's Markdown for given rows, and the hand-written
// part below the marker surviving a rewrite.
using MaeDsl.Training;

namespace MaeDsl.Cli.Tests;

public class ResultsReportTests
{
    static readonly IReadOnlyList<ResultsRow> Rows =
    [
        new("MAE pre-trained", "k-NN (k=20, T=0.07)", "no training", 0, 12, 79.2, double.NaN, ""),
        new("randomly initialised", "k-NN (k=20, T=0.07)", "no training", 0, 11, 61.6, double.NaN, ""),
        new("raw pixels", "k-NN (k=20, T=0.07)", "no training", 0, 5, 80.1, double.NaN, ""),
        new("MAE pre-trained", "linear probe (BN + linear, LARS)", "4 epochs", 4, 30, 69.6, 97.5, "linprobe-mae"),
        new("randomly initialised", "linear probe (BN + linear, LARS)", "4 epochs", 4, 29, 54.9, 93.0, "linprobe-random"),
        new("raw pixels", "logistic regression (linear on normalised pixels, AdamW)", "30 epochs", 30, 20, 83.6, 99.1, ""),
        new("MAE pre-trained", "fine-tune", "8 epochs (+ pre-training 10 epochs, 926 s)", 8, 400, 81.3, 99.0, "finetune-mae"),
        new("randomly initialised", "fine-tune (from scratch)", "8 epochs (same fine-tune budget)", 8, 390, 78.5, 98.7, "scratch-same-epochs"),
        new("randomly initialised", "fine-tune (from scratch)", "33 epochs (same total wall time as pre-training + fine-tuning: 1326 s)", 33, 1320, 85.9, 99.6, "scratch-same-time"),
    ];

    static ResultsRun Run() => new(
        "dotnet run -c Release --project examples/Quickstart -- results --variant tiny-normpix --epochs 10",
        "MaeFashionTinyNormPix", Quickstart.MaeFashionTinyNormPix.Specification, "Fashion-MNIST (20000 train)", 926, "10 epochs, 926 s",
        ["MAE pre-training: a note."], new FineTuneOptions { Run = RecipePresets.OfficialFineTuneRun with { Epochs = 8, WarmupEpochs = 0.5 } }, 1.0,
        new LinearProbeOptions { Run = RecipePresets.OfficialLinearProbeRun with { Epochs = 4, Lr = 6.4, WarmupEpochs = 0.5 } }, 3000, "docs/results", 2, 2, new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc));

    [Fact]
    public void The_markdown_holds_the_table_the_targets_and_the_command()
    {
        string md = ResultsReport.Markdown(Run(), Rows, existing: null);
        var lines = md.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal("# Results: what MAE pre-training is worth on Fashion-MNIST", lines[0]);
        Assert.Contains("Produced by `dotnet run -c Release --project examples/Quickstart -- results --variant tiny-normpix --epochs 10`", lines);
        Assert.Contains("on 2 CPU cores (2 torch threads), 2026-11-30 12:00 UTC, in 50.0 min in all.", lines);
        Assert.Contains("| MAE pre-trained (10 epochs, 926 s) | 79.20% | 69.60% (4 epochs, 30 s) | 81.30% (8 epochs, 400 s; total with pre-training 1326 s) |", lines);
        Assert.Contains("| randomly initialised | 61.60% | 54.90% (4 epochs, 29 s) | 78.50% (same fine-tune budget: 8 epochs, 390 s); 85.90% (same total wall time: 33 epochs, 1320 s) |", lines);
        Assert.Contains("| raw pixels | 80.10% | 83.60% (logistic regression, 30 epochs, 20 s) | |", lines);
        Assert.Contains("- MAE linear probe vs random-init encoder: 69.60% vs 54.90% (beats it, +14.70 points).", lines);
        Assert.Contains("- MAE linear probe vs raw pixels (logistic regression): 69.60% vs 83.60% (does NOT beat it, -14.00 points).", lines);
        Assert.Contains("- MAE fine-tuning vs from scratch at the same total wall time: 81.30% vs 85.90% (does NOT beat it, -4.60 points).", lines);
        Assert.Contains("- MAE pre-training: a note.", lines);
        Assert.Contains(lines, l => l.StartsWith("`docs/results/summary.csv` (this table's numbers)", StringComparison.Ordinal));
        Assert.Equal(ResultsReport.HandWrittenMarker, lines.Last(l => l.Length > 0));
    }

    [Fact]
    public void A_rewrite_keeps_the_hand_written_part_below_the_marker()
    {
        string old = "# old table\n\n" + ResultsReport.HandWrittenMarker + "\n\n## Investigation\nwritten by hand\n";
        string md = ResultsReport.Markdown(Run(), Rows, old);
        Assert.DoesNotContain("# old table", md);
        Assert.EndsWith(ResultsReport.HandWrittenMarker + "\n\n## Investigation\nwritten by hand\n", md.Replace("\r\n", "\n"));
    }

    [Fact]
    public void The_summary_csv_has_one_line_per_row_and_no_top5_for_knn()
    {
        var lines = ResultsReport.SummaryCsv(Rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("encoder,protocol,budget,epochs,train_seconds,top1,top5,log", lines[0]);
        Assert.Equal(10, lines.Length);
        Assert.Equal("\"MAE pre-trained\",\"k-NN (k=20, T=0.07)\",\"no training\",0,12.0,79.20,,", lines[1]);
        Assert.Equal("\"MAE pre-trained\",\"linear probe (BN + linear, LARS)\",\"4 epochs\",4,30.0,69.60,97.50,linprobe-mae", lines[4]);
    }

    [Fact]
    public void Write_creates_the_file_and_keeps_its_hand_written_part()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "results.md");
        ResultsReport.Write(path, Run(), Rows);
        File.AppendAllText(path, "\nby hand\n");
        ResultsReport.Write(path, Run(), Rows);
        string text = File.ReadAllText(path);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "^# Results", System.Text.RegularExpressions.RegexOptions.Multiline));
        Assert.EndsWith("by hand\n", text);
    }
}

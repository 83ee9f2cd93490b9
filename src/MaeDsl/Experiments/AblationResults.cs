// AblationResults: what one sweep point and the sweep's baselines measured, and the sweep's CSV and Markdown table.
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MaeDsl.Experiments;

/// <summary>What one point measured: top-1 accuracies in percent (NaN where a protocol did not run) and what it cost.</summary>
/// <param name="PretrainImages">Images the pre-training processed (epochs × images per epoch).</param>
/// <param name="PretrainSeconds">Wall time of the pre-training iterations (across resumes: the checkpoint's record).</param>
/// <param name="EvalSeconds">Wall time of the k-NN, linear probe and fine-tune.</param>
/// <param name="CpuSeconds">CPU time of the whole point in this process (pre-training done in an earlier process is not in it).</param>
/// <param name="Error">Why the point failed; null when it ran.</param>
internal sealed record AblationRow(string Sweep, string Point, string Model, double X, string Label, int Epochs, long PretrainImages,
    double PretrainLoss, double Knn, double LinearProbe, double FineTune, double PretrainSeconds, double EvalSeconds, double CpuSeconds,
    int Threads, string? Error = null)
{
    [System.Text.Json.Serialization.JsonIgnore] public bool Failed => Error is not null;
}

/// <summary>The flat lines of every plot: raw pixels and a randomly initialised encoder under the same protocols.</summary>
/// <param name="FineTuneScratch">The base model's ViT trained from scratch with the points' fine-tuning budget.</param>
internal sealed record AblationBaselines(double KnnPixels, double LogisticPixels, double KnnRandom, double LinearProbeRandom, double FineTuneScratch,
    double Seconds);

/// <summary>Reads and writes the sweep's files: each point's JSON, the CSV and the Markdown table.</summary>
internal static class AblationResults
{
    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Save<T>(string path, T value) =>
        IO.AtomicFile.Write(path, s => JsonSerializer.Serialize(s, value, Json));

    /// <summary>The record at <paramref name="path"/>, or null when there is none or it cannot be read (the point is then redone).</summary>
    public static T? Load<T>(string path) where T : class
    {
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json); }
        catch (JsonException) { return null; }
    }

    public const string CsvHeader =
        "sweep,point,model,x,label,pretrain_epochs,pretrain_images,pretrain_loss,knn_top1,linprobe_top1,finetune_top1," +
        "pretrain_seconds,eval_seconds,cpu_seconds,threads,status";

    /// <summary>One line per point (a failed point's status is its error), then one per baseline.</summary>
    public static string Csv(IEnumerable<AblationRow> rows, AblationBaselines? baselines)
    {
        var sb = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in rows)
            sb.Append(string.Create(CultureInfo.InvariantCulture,
                $"{r.Sweep},{r.Point},{r.Model},{r.X},{Quote(r.Label)},{r.Epochs},{r.PretrainImages},{N(r.PretrainLoss, "F4")}," +
                $"{N(r.Knn)},{N(r.LinearProbe)},{N(r.FineTune)}," +
                $"{N(r.PretrainSeconds, "F1")},{N(r.EvalSeconds, "F1")},{N(r.CpuSeconds, "F1")},{r.Threads},{Quote(r.Error ?? "ok")}\n"));
        if (baselines is { } b)
            foreach (var (name, knn, linear, ft) in BaselineRows(b))
                sb.Append(string.Create(CultureInfo.InvariantCulture, $"baseline,{name},,,,,,,{N(knn)},{N(linear)},{N(ft)},,{N(b.Seconds, "F1")},,,ok\n"));
        return sb.ToString();
    }

    /// <summary>The baselines as (name, k-NN, linear, fine-tune) rows; the linear protocol on pixels is logistic regression.</summary>
    public static IEnumerable<(string Name, double Knn, double Linear, double FineTune)> BaselineRows(AblationBaselines b) =>
    [
        ("raw pixels", b.KnnPixels, b.LogisticPixels, double.NaN),
        ("random encoder", b.KnnRandom, b.LinearProbeRandom, b.FineTuneScratch),
    ];

    /// <summary>The sweep's table: one row per point with its accuracies and cost, then the baselines.</summary>
    public static string Markdown(Ablation a, IReadOnlyList<AblationRow> rows, AblationBaselines? baselines)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"| {a.Axis} | model | k-NN | linear probe | fine-tune | pre-training | pre-training loss | evaluation |\n");
        sb.Append("|---|---|---|---|---|---|---|---|\n");
        foreach (var r in rows)
        {
            if (r.Failed) { sb.Append(CultureInfo.InvariantCulture, $"| {r.Label} | {r.Model} | failed: {r.Error} | | | | | |\n"); continue; }
            sb.Append(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Label} | {r.Model} | {P(r.Knn)} | {P(r.LinearProbe)} | {P(r.FineTune)} | {r.Epochs} ep, {r.PretrainSeconds:F0} s | " +
                    $"{N(r.PretrainLoss, "F4")} | {r.EvalSeconds:F0} s |\n"));
        }
        if (baselines is { } b)
            foreach (var (name, knn, linear, ft) in BaselineRows(b))
                sb.Append(CultureInfo.InvariantCulture,
                    $"| *{name}* | | {P(knn)} | {P(linear)}{(name == "raw pixels" ? " (logistic regression)" : "")} | " +
                        $"{P(ft)}{(name == "random encoder" && double.IsFinite(ft) ? " (from scratch)" : "")} | | | |\n");
        return sb.ToString();
    }

    static string P(double v) => double.IsFinite(v) ? v.ToString("F2", CultureInfo.InvariantCulture) + "%" : "–";
    static string N(double v, string format = "F2") => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "";
    static string Quote(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}

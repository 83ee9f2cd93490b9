// The results command's outputs: summary.csv and docs/results.md (the table, the targets, the recipes, the raw-log
// pointers), written from measured rows; the hand-written part of docs/results.md below its marker is kept.
using System.Globalization;
using System.Text;
using MaeDsl;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>One measured line of the results table.</summary>
internal sealed record ResultsRow(string Encoder, string Protocol, string Budget, double Epochs, double TrainSeconds, double Top1, double Top5, string Log);

/// <summary>What the results report says about the run besides its rows.</summary>
/// <param name="Command">The command line that produced it, as the report quotes it.</param>
/// <param name="Logs">The raw-log folder as the report names it (relative to the repository root).</param>
internal sealed record ResultsRun(string Command, string ModelName, MaeSpec Spec, string Data, double PretrainSeconds, string PretrainBudget,
    IReadOnlyList<string> Notes, FineTuneOptions FineTune, double ScratchLayerDecay, LinearProbeOptions LinearProbe, double TotalSeconds,
    string Logs, int Cores, int Threads, DateTime Date);

/// <summary>summary.csv and docs/results.md.</summary>
internal static class ResultsReport
{
    /// <summary>summary.csv: one line per row.</summary>
    public static string SummaryCsv(IEnumerable<ResultsRow> rows)
    {
        var sb = new StringBuilder("encoder,protocol,budget,epochs,train_seconds,top1,top5,log\n");
        foreach (var r in rows)
        {
            string top5 = double.IsNaN(r.Top5) ? "" : r.Top5.ToString("F2", CultureInfo.InvariantCulture);
            sb.Append(string.Create(CultureInfo.InvariantCulture,
                $"\"{r.Encoder}\",\"{r.Protocol}\",\"{r.Budget}\",{r.Epochs},{r.TrainSeconds:F1},{r.Top1:F2},{top5},{r.Log}\n"));
        }
        return sb.ToString();
    }

    public static void WriteSummary(string path, IEnumerable<ResultsRow> rows) =>
        MaeDsl.IO.AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(SummaryCsv(rows))));

    /// <summary>The line after which docs/results.md is written by hand (kept when the command rewrites the file).</summary>
    public const string HandWrittenMarker = "<!-- Everything above is written by the `results` command; everything below this line is written by hand and " +
        "kept when it reruns. -->";

    /// <summary>Writes <see cref="Markdown"/> to <paramref name="path"/>, keeping what is written by hand below the marker.</summary>
    public static void Write(string path, ResultsRun run, IReadOnlyList<ResultsRow> rows)
    {
        string? existing = File.Exists(path) ? File.ReadAllText(path) : null;
        MaeDsl.IO.AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(Markdown(run, rows, existing))));
    }

    /// <summary>
    /// docs/results.md for these rows (which must hold the k-NN, linear-probe, logistic-regression and three fine-tuning
    /// rows the results command measures); <paramref name="existing"/>'s text below <see cref="HandWrittenMarker"/> is kept.
    /// </summary>
    public static string Markdown(ResultsRun run, IReadOnlyList<ResultsRow> rows, string? existing)
    {
        var (command, modelName, spec, data, pretrainTime, pretrainBudget, notes, ft, scratchLayerDecay, lp, totalSeconds, logs, cores, threads, date) = run;
        var c = CultureInfo.InvariantCulture;
        string F(double v) => double.IsNaN(v) ? "–" : v.ToString("F2", c) + "%";
        ResultsRow Find(string encoder, string protocolPrefix, string? budgetPart = null) =>
            rows.First(r => r.Encoder == encoder && r.Protocol.StartsWith(protocolPrefix, StringComparison.Ordinal) && (budgetPart is null
                || r.Budget.Contains(budgetPart, StringComparison.Ordinal)));
        var lpMae = Find("MAE pre-trained", "linear probe");
        var lpRandom = Find("randomly initialised", "linear probe");
        var lr = Find("raw pixels", "logistic");
        var ftMae = Find("MAE pre-trained", "fine-tune");
        var ftSameEpochs = Find("randomly initialised", "fine-tune", "same fine-tune budget");
        var ftSameTime = Find("randomly initialised", "fine-tune", "same total wall time");

        var sb = new StringBuilder();
        sb.AppendLine("# Results: what MAE pre-training is worth on Fashion-MNIST");
        sb.AppendLine();
        sb.AppendLine($"Produced by `{command}`");
        sb.AppendLine(string.Create(c, $"on {cores} CPU cores ({threads} torch threads), {date:yyyy-MM-dd HH:mm} UTC, in {totalSeconds / 60:F1} min in all."));
        sb.AppendLine(string.Create(c,
            $"Model `{modelName}`: {spec.ImageSize}×{spec.ImageSize}×{spec.Channels} images in {spec.PatchSize}×{spec.PatchSize} patches " +
            $"({spec.NumPatches}), encoder depth {spec.EncoderDepth} width {spec.EncoderWidth} heads {spec.EncoderHeads}, decoder depth {spec.DecoderDepth} " +
            $"width {spec.DecoderWidth}, mask ratio {spec.MaskRatio}, norm_pix_loss {spec.NormalizePixels.ToString().ToLowerInvariant()}."));
        sb.AppendLine($"Data: {data}. Every accuracy is top-1 on those test images.");
        sb.AppendLine();
        sb.AppendLine("| encoder | k-NN (k = 20) | linear probe | fine-tune |");
        sb.AppendLine("|---|---|---|---|");
        sb.AppendLine(string.Create(c,
            $"| MAE pre-trained ({pretrainBudget}) | {F(Find("MAE pre-trained", "k-NN").Top1)} | {F(lpMae.Top1)} ({lpMae.Budget}, {lpMae.TrainSeconds:F0} s) " +
            $"| {F(ftMae.Top1)} ({ft.Run.Epochs} epochs, {ftMae.TrainSeconds:F0} s; total with pre-training {pretrainTime + ftMae.TrainSeconds:F0} s) |"));
        sb.AppendLine(string.Create(c,
            $"| randomly initialised | {F(Find("randomly initialised", "k-NN").Top1)} | {F(lpRandom.Top1)} ({lpRandom.Budget}, {lpRandom.TrainSeconds:F0} s) " +
            $"| {F(ftSameEpochs.Top1)} (same fine-tune budget: {ftSameEpochs.Epochs} epochs, {ftSameEpochs.TrainSeconds:F0} s); {F(ftSameTime.Top1)} (same " +
            $"total wall time: {ftSameTime.Epochs} epochs, {ftSameTime.TrainSeconds:F0} s) |"));
        sb.AppendLine(string.Create(c,
            $"| raw pixels | {F(Find("raw pixels", "k-NN").Top1)} | {F(lr.Top1)} (logistic regression, {lr.Budget}, {lr.TrainSeconds:F0} s) | |"));
        sb.AppendLine();
        sb.AppendLine("References (full 60,000-image training set, from the Fashion-MNIST paper and its README benchmark): logistic regression on pixels ≈ " +
            "84%; small CNNs ≈ 88–93%.");
        sb.AppendLine();
        sb.AppendLine("## Targets");
        sb.AppendLine(string.Create(c,
            $"- MAE linear probe vs random-init encoder: {F(lpMae.Top1)} vs {F(lpRandom.Top1)} " +
            $"({(lpMae.Top1 > lpRandom.Top1 ? "beats it" : "does NOT beat it")}, {lpMae.Top1 - lpRandom.Top1:+0.00;-0.00} points)."));
        sb.AppendLine(string.Create(c,
            $"- MAE linear probe vs raw pixels (logistic regression): {F(lpMae.Top1)} vs {F(lr.Top1)} " +
            $"({(lpMae.Top1 > lr.Top1 ? "beats it" : "does NOT beat it")}, {lpMae.Top1 - lr.Top1:+0.00;-0.00} points)."));
        sb.AppendLine(string.Create(c,
            $"- MAE fine-tuning vs from scratch at the same total wall time: {F(ftMae.Top1)} vs {F(ftSameTime.Top1)} " +
            $"({(ftMae.Top1 > ftSameTime.Top1 ? "beats it" : "does NOT beat it")}, {ftMae.Top1 - ftSameTime.Top1:+0.00;-0.00} points)."));
        sb.AppendLine();
        sb.AppendLine("## Recipes and budgets");
        foreach (var n in notes) sb.AppendLine($"- {n}");
        var ftOfficial = new FineTuneOptions();
        var ftChanges = new List<string> { string.Create(c, $"{ft.Run.Epochs} epochs instead of 100 (50 for ViT-L/H)"), string.Create(c,
            $"warmup {ft.Run.WarmupEpochs} epoch(s) instead of 5 (scaled with the epochs for the equal-time run)") };
        if (ft.Mixup != ftOfficial.Mixup) ftChanges.Add(string.Create(c, $"mixup {ft.Mixup} instead of {ftOfficial.Mixup}"));
        if (ft.Cutmix != ftOfficial.Cutmix) ftChanges.Add(string.Create(c, $"cutmix {ft.Cutmix} instead of {ftOfficial.Cutmix}"));
        if (ft.RandomErasing != ftOfficial.RandomErasing) ftChanges.Add(string.Create(c,
            $"random erasing {ft.RandomErasing} instead of {ftOfficial.RandomErasing}"));
        if (ft.MinCropScale != ftOfficial.MinCropScale) ftChanges.Add(string.Create(c,
            $"RandomResizedCrop scale ({ft.MinCropScale}–1) instead of ({ftOfficial.MinCropScale}–1)"));
        if (scratchLayerDecay != ft.LayerDecay) ftChanges.Add(string.Create(c,
            $"the from-scratch runs use layer decay {scratchLayerDecay} (it exists to protect pre-trained layers; the paper's from-scratch recipe has none)"));
        if (ft.AutoAugment != ftOfficial.AutoAugment)
            ftChanges.Add(MaeDsl.Data.RandAugmentConfig.IsOff(ft.AutoAugment) ? $"no RandAugment (main_finetune.py: {ftOfficial.AutoAugment})"
                : $"RandAugment {ft.AutoAugment} instead of {ftOfficial.AutoAugment}");
        sb.AppendLine(string.Create(c,
            $"- Fine-tuning (MAE and scratch, the same recipe): main_finetune.py's — AdamW (0.9, 0.999), wd {ft.Run.WeightDecay}, blr {ft.Run.BaseLr:E1} (lr " +
            $"{ft.Run.AbsoluteLr:E2} at batch {ft.Run.BatchSize}), layer decay {ft.LayerDecay}, drop path {ft.DropPath}, label smoothing " +
            $"{ft.LabelSmoothing}, mixup {ft.Mixup}, cutmix {ft.Cutmix}, random erasing {ft.RandomErasing}, RandomResizedCrop ({ft.MinCropScale}–1) + flip + " +
            $"{(MaeDsl.Data.RandAugmentConfig.IsOff(ft.AutoAugment) ? "no RandAugment" : $"RandAugment {ft.AutoAugment}")}, min lr {ft.Run.MinLr:E0}, global " +
            $"pool; evaluation on the unaugmented test images. Changed: {string.Join("; ", ftChanges)}."));
        var lpOfficial = new LinearProbeOptions();
        string lpCrop = lp.MinCropScale == lpOfficial.MinCropScale ? "" : string.Create(c,
            $"; RandomResizedCrop scale ({lp.MinCropScale}–1) instead of ({lpOfficial.MinCropScale}–1)");
        sb.AppendLine(string.Create(c,
            $"- Linear probe: main_linprobe.py's recipe — cls token after the encoder's norm, BatchNorm1d(affine=false) + Linear (trunc_normal 0.01), LARS " +
            $"(momentum 0.9, trust 0.001), wd 0, batch {lp.Run.BatchSize}, RandomResizedCrop ({lp.MinCropScale}–1) + flip; changed: absolute lr " +
            $"{lp.Run.AbsoluteLr} (the paper's 6.4 = blr 0.1 × 16384 / 256; blr 0.1 × {lp.Run.BatchSize} / 256 = {0.1 * lp.Run.BatchSize / 256:F3} barely " +
            $"moves a LARS head in a few hundred iterations), warmup {lp.Run.WarmupEpochs} epoch(s) instead of 10, {lp.Run.Epochs} epochs instead of " +
            $"90{lpCrop}."));
        sb.AppendLine("- Wall times are the training iterations only (no evaluation, no checkpoint writing), measured in this one run (on a machine shared " +
            "with other jobs they vary: compare the ratios); the time-matched scratch run gets round((pre-training + MAE fine-tuning) / scratch seconds per " +
            "epoch) epochs.");
        sb.AppendLine();
        sb.AppendLine("## Raw logs");
        sb.AppendLine($"`{logs}/summary.csv` (this table's numbers) and, per run, `{logs}/<run>/metrics.csv` (every iteration: loss, lr, images/s, elapsed), " +
            $"`eval.csv` (top-1, top-5, test loss, training seconds; about six evaluations per fine-tuning run) and `config.json`.");
        sb.AppendLine();
        sb.AppendLine(HandWrittenMarker);
        // the investigation written by hand below the marker survives a re-run
        string kept = existing is not null && existing.IndexOf(HandWrittenMarker, StringComparison.Ordinal) is var at and >= 0
            ? existing[(at + HandWrittenMarker.Length)..].TrimStart('\r', '\n') : "";
        if (kept.Length > 0) sb.AppendLine().Append(kept);
        return sb.ToString();
    }
}

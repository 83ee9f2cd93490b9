using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MaeDsl;
using MaeDsl.Data;
using MaeDsl.Evaluation;
using MaeDsl.Native;
using MaeDsl.Training;
using MaeDsl.Training.FineTuning;
using MaeDsl.Training.LinearProbing;
using MaeDsl.Training.Loop;
using TorchSharp;
using static TorchSharp.torch;

namespace Quickstart.Commands;

/// <summary>
/// <c>results</c>: the measurements of docs/results.md. On one machine, with every budget recorded:
/// MAE pre-training; k-NN of the MAE encoder, a random encoder and raw pixels; linear probes of the MAE and a
/// random encoder and logistic regression on pixels; fine-tuning of the MAE encoder and training from scratch
/// with the same epochs and with the same total wall time as pre-training + fine-tuning. The raw logs
/// (metrics.csv, eval.csv, config.json of every run, summary.csv) go to --output; the table to --doc.
/// </summary>
public static class ResultsCommand
{
    sealed record Row(string Encoder, string Protocol, string Budget, double Epochs, double TrainSeconds, double Top1, double Top5, string Log);

    public static Command Create()
    {
        var command = new Command("results", "Pre-train as the main job, then measure the MAE encoder against a random one and raw pixels (k-NN, linear probe, fine-tune vs scratch) and write docs/results.md with the raw logs");
        var output = new Option<string>("--logs") { Description = "Folder of the raw CSV logs", DefaultValueFactory = _ => Path.Combine("docs", "results") };
        var doc = new Option<string>("--doc") { Description = "The Markdown report", DefaultValueFactory = _ => Path.Combine("docs", "results.md") };
        var work = new Option<string>("--work") { Description = "Scratch folder of checkpoints (not committed)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "maedsl-results") };
        var pretrained = new Option<string?>("--pretrained") { Description = "Skip pre-training: these MAE weights (.safetensors), with --pretrain-seconds its wall time" };
        var pretrainSeconds = new Option<double>("--pretrain-seconds") { Description = "Wall time of the run that produced --pretrained", DefaultValueFactory = _ => 0 };
        var finetuneEpochs = new Option<int>("--finetune-epochs") { DefaultValueFactory = _ => RecipePresets.TinyFineTune.Run.Epochs };
        var finetuneBatch = new Option<int>("--finetune-batch") { DefaultValueFactory = _ => RecipePresets.TinyFineTune.Run.BatchSize };
        var finetuneWarmup = new Option<double>("--finetune-warmup") { DefaultValueFactory = _ => RecipePresets.TinyFineTune.Run.WarmupEpochs };
        var linprobeEpochs = new Option<int>("--linprobe-epochs") { DefaultValueFactory = _ => RecipePresets.TinyLinearProbe.Run.Epochs };
        var linprobeBatch = new Option<int>("--linprobe-batch") { DefaultValueFactory = _ => RecipePresets.TinyLinearProbe.Run.BatchSize };
        var linprobeLr = new Option<double>("--linprobe-lr") { Description = "Absolute LARS lr (the paper's 6.4 = blr 0.1 × 16384 / 256)", DefaultValueFactory = _ => RecipePresets.TinyLinearProbe.Run.Lr!.Value };
        var linprobeWarmup = new Option<double>("--linprobe-warmup") { DefaultValueFactory = _ => RecipePresets.TinyLinearProbe.Run.WarmupEpochs };
        var testLimit = new Option<int?>("--test-limit") { Description = "Evaluate on the first N held-out images only" };
        var labelledLimit = new Option<int?>("--labelled-limit") { Description = "k-NN, probes and fine-tuning use the first N labelled training images (default: --train-limit, which also limits pre-training)" };
        var ftDefaults = new FineTuneOptions();
        var finetuneMixup = new Option<double>("--finetune-mixup") { Description = "Mixup alpha of fine-tuning and scratch (0 = off)", DefaultValueFactory = _ => ftDefaults.Mixup };
        var finetuneCutmix = new Option<double>("--finetune-cutmix") { Description = "CutMix alpha of fine-tuning and scratch (0 = off)", DefaultValueFactory = _ => ftDefaults.Cutmix };
        var finetuneReprob = new Option<double>("--finetune-reprob") { Description = "Random erasing probability of fine-tuning and scratch", DefaultValueFactory = _ => ftDefaults.RandomErasing };
        var finetuneCrop = new Option<double>("--finetune-min-crop-scale") { Description = "RandomResizedCrop's smallest area fraction for fine-tuning and scratch", DefaultValueFactory = _ => ftDefaults.MinCropScale };
        var scratchLayerDecay = new Option<double>("--scratch-layer-decay") { Description = "Layer decay of the from-scratch runs (default 1 = none: layer decay protects pre-trained layers, and the paper's from-scratch ViT recipe has none)", DefaultValueFactory = _ => 1.0 };
        var linprobeCrop = new Option<double>("--linprobe-min-crop-scale") { Description = "RandomResizedCrop's smallest area fraction for the linear probes", DefaultValueFactory = _ => new LinearProbeOptions().MinCropScale };
        // the pre-training options of the main job (same names and defaults: --variant, --dataset, --epochs, --batch, --blr, --train-limit, ...)
        var pretrain = new PretrainArguments();
        pretrain.AddTo(command, except: [pretrain.Output, pretrain.Resume, pretrain.CheckpointEvery]); // results keeps its pre-training in --work
        foreach (var o in new Option[] { output, doc, work, pretrained, pretrainSeconds, labelledLimit, testLimit,
                     finetuneEpochs, finetuneBatch, finetuneWarmup, finetuneMixup, finetuneCutmix, finetuneReprob, finetuneCrop, scratchLayerDecay,
                     linprobeEpochs, linprobeBatch, linprobeLr, linprobeWarmup, linprobeCrop })
            command.Options.Add(o);

        command.SetAction((parse, cancel) => Task.FromResult(Run.Guarded(() =>
        {
            MaeDsl.Native.TorchRuntime.EnsureLoaded();
            var total = Stopwatch.StartNew();
            var settings = pretrain.Read(parse);
            string outDir = Path.GetFullPath(parse.GetValue(output)!), workDir = Path.GetFullPath(parse.GetValue(work)!);
            Directory.CreateDirectory(outDir);
            Directory.CreateDirectory(workDir);
            settings = settings with { Options = settings.Options with { Run = settings.Options.Run with { OutputDir = Path.Combine(workDir, "pretrain"), TensorBoard = false } } };
            var spec = settings.Variant.SpecFor(settings.MaskRatio);
            long s = settings.Options.Run.Seed;
            torch.set_num_threads(settings.Threads);
            var sources = DataSources.Open(settings.Dataset, settings.DataDir, spec.ImageSize, spec.Channels);
            if (sources.Test is null) throw new ArgumentException($"{sources.Description}: no held-out split to evaluate on.");
            int? labelled = parse.GetValue(labelledLimit) ?? settings.TrainLimit;
            if (labelled is < 1) throw new ArgumentException($"--labelled-limit = {labelled} is invalid: must be >= 1");
            var train = SubsetDataset.First(sources.Train, labelled);
            var test = SubsetDataset.First(sources.Test, parse.GetValue(testLimit));
            double cropPct = sources.Test.Height == spec.ImageSize && sources.Test.Width == spec.ImageSize ? 1.0 : 0.875;
            var norm = sources.Normalization;
            string description = $"{sources.Description}; using {train.Count} training and {test.Count} held-out images";
            var rows = new List<Row>();
            var notes = new List<string>();
            void Say(string line) { Console.WriteLine(line); Console.Out.Flush(); }
            Say($"results for {settings.Variant.ClassName} on {description}; {Environment.ProcessorCount} cores, {torch.get_num_threads()} torch threads");

            // every option is checked before the long pre-training
            if (parse.GetValue(linprobeWarmup) >= parse.GetValue(linprobeEpochs))
                throw new ArgumentException($"--linprobe-warmup = {parse.GetValue(linprobeWarmup)} must be below --linprobe-epochs = {parse.GetValue(linprobeEpochs)}");
            var lpOptions = new LinearProbeOptions
            {
                NumClasses = train.NumClasses, MinCropScale = parse.GetValue(linprobeCrop), EvalCropPct = cropPct, EvalPeriod = parse.GetValue(linprobeEpochs),
                Run = RecipePresets.OfficialLinearProbeRun with
                {
                    Epochs = parse.GetValue(linprobeEpochs), BatchSize = parse.GetValue(linprobeBatch), Lr = parse.GetValue(linprobeLr), WarmupEpochs = parse.GetValue(linprobeWarmup),
                    Seed = s, CheckpointPeriod = parse.GetValue(linprobeEpochs), TensorBoard = false,
                },
            };
            int fEpochs = parse.GetValue(finetuneEpochs);
            if (parse.GetValue(finetuneWarmup) >= fEpochs)
                throw new ArgumentException($"--finetune-warmup = {parse.GetValue(finetuneWarmup)} must be below --finetune-epochs = {fEpochs}");
            var ftOptions = new FineTuneOptions
            {
                NumClasses = train.NumClasses, EvalCropPct = cropPct,
                Run = RecipePresets.OfficialFineTuneRun with { Epochs = fEpochs, BatchSize = parse.GetValue(finetuneBatch), WarmupEpochs = parse.GetValue(finetuneWarmup), Seed = s, TensorBoard = false },
                Mixup = parse.GetValue(finetuneMixup), Cutmix = parse.GetValue(finetuneCutmix), RandomErasing = parse.GetValue(finetuneReprob),
                MinCropScale = parse.GetValue(finetuneCrop),
            };
            var scratchOptions = ftOptions with { LayerDecay = parse.GetValue(scratchLayerDecay) };
            ftOptions.Validate();
            scratchOptions.Validate();
            lpOptions.Validate();

            // ---- 1. MAE pre-training exactly as the main job (or given weights) ----
            MaskedAutoencoder mae;
            double pretrainTime;
            string pretrainBudget;
            var po = settings.Options.Run;
            if (parse.GetValue(pretrained) is { } weights)
            {
                if (!(parse.GetValue(pretrainSeconds) > 0))
                    throw new ArgumentException("--pretrained needs --pretrain-seconds (the wall time of the pre-training that produced the weights) for the time-matched scratch run");
                mae = settings.Variant.Build(s, settings.MaskRatio);
                MaeDsl.Checkpoints.StateDicts.Load(mae, weights, strict: true);
                pretrainTime = parse.GetValue(pretrainSeconds);
                pretrainBudget = string.Create(CultureInfo.InvariantCulture, $"given weights, {pretrainTime:F0} s");
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"MAE pre-training: weights {weights} given with --pretrained; its wall time {pretrainTime:F0} s given with --pretrain-seconds."));
            }
            else
            {
                var outcome = Pretraining.Run(settings, cancel);
                mae = outcome.Model;
                var result = outcome.Result;
                pretrainTime = result.Elapsed.TotalSeconds;
                pretrainBudget = string.Create(CultureInfo.InvariantCulture, $"{po.Epochs} epochs, {pretrainTime:F0} s");
                CopyLogs(po.OutputDir, Path.Combine(outDir, "pretrain"));
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"MAE pre-training (the main job's recipe): {po.Epochs} epochs × {result.Steps / po.Epochs} iterations of {po.BatchSize}, lr {po.AbsoluteLr:G3} (blr {po.BaseLr:G3}), warmup {po.WarmupEpochs} epoch(s), AdamW (0.9, 0.95), wd {po.WeightDecay}, RandomResizedCrop ({settings.MinCropScale}–1) + flip; mean loss of the last epoch {result.MeanLossLastEpoch:F4}; {pretrainTime:F0} s ({result.ImagesPerSecond:F0} images/s)."));
            }
            using var _mae = mae;
            mae.eval();

            // ---- 2. k-NN (weighted, k 20, T 0.07) ----
            var evalTransform = Transforms.Eval(spec.ImageSize, norm, cropPct);
            var trainEval = new BatchLoader(train, 256, evalTransform, shuffle: false, dropLast: false, seed: s);
            var testEval = new BatchLoader(test, 256, evalTransform, shuffle: false, dropLast: false, seed: s);
            using var randomMae = settings.Variant.Build(s + 1, settings.MaskRatio);
            randomMae.eval();
            foreach (var (name, featurize) in new (string, Func<Tensor, Tensor>)[]
                     {
                         ("MAE pre-trained", x => Knn.PatchTokenMean(mae.Encode(x))),
                         ("randomly initialised", x => Knn.PatchTokenMean(randomMae.Encode(x))),
                         ("raw pixels", Knn.RawPixels),
                     })
            {
                var clock = Stopwatch.StartNew();
                var knn = Knn.Evaluate(featurize, Batch.Pairs(trainEval.Epoch(0)), Batch.Pairs(testEval.Epoch(0)), train.NumClasses);
                rows.Add(new Row(name, "k-NN (k=20, T=0.07)", "no training", 0, clock.Elapsed.TotalSeconds, 100 * knn.Accuracy, double.NaN, ""));
                Say(string.Create(CultureInfo.InvariantCulture, $"k-NN {name}: {100 * knn.Accuracy:F2}%"));
            }

            // ---- 3. linear probes ----
            foreach (var (name, dir, create) in new (string, string, Func<VitClassifier>)[]
                     {
                         ("MAE pre-trained", "linprobe-mae", () => LinearProbe.CreateModel(mae, lpOptions, s)),
                         ("randomly initialised", "linprobe-random", () => LinearProbe.CreateModel(randomMae, lpOptions, s)),
                     })
            {
                var o = lpOptions with { Run = lpOptions.Run with { OutputDir = Path.Combine(workDir, dir) } };
                using var model = create();
                using var probe = new LinearProbe(model, o);
                Say($"linear probe, {name}: {o.Run.Epochs} epochs, batch {o.Run.BatchSize}, LARS lr {o.Run.AbsoluteLr}");
                var r = probe.Run(train, test, norm);
                CopyLogs(o.Run.OutputDir, Path.Combine(outDir, dir));
                rows.Add(new Row(name, "linear probe (BN + linear, LARS)", $"{o.Run.Epochs} epochs", o.Run.Epochs, r.TrainSeconds, r.Final.Top1, r.Final.Top5, dir));
            }
            {
                var clock = Stopwatch.StartNew();
                var (top1, top5, epochs) = PixelLogisticRegression(trainEval, testEval, train.NumClasses, s);
                rows.Add(new Row("raw pixels", "logistic regression (linear on normalised pixels, AdamW)", $"{epochs} epochs", epochs, clock.Elapsed.TotalSeconds, top1, top5, ""));
                Say(string.Create(CultureInfo.InvariantCulture, $"logistic regression on pixels: {top1:F2}%"));
            }

            // ---- 4. fine-tuning vs training from scratch ----
            ClassifierRunResult FineTune(string dir, VitClassifier model, FineTuneOptions o)
            {
                // about six evaluations per run, so eval.csv shows the curve (evaluation is not counted in the training time)
                o = o with { Run = o.Run with { OutputDir = Path.Combine(workDir, dir), CheckpointPeriod = o.Run.Epochs }, EvalPeriod = Math.Max(1, o.Run.Epochs / 6) };
                using var _ = model;
                using var tuner = new FineTuner(model, o);
                Say($"fine-tune {dir}: {o.Run.Epochs} epochs, batch {o.Run.BatchSize}, lr {o.Run.AbsoluteLr:E2}, layer decay {o.LayerDecay}");
                var r = tuner.Run(train, test, norm);
                CopyLogs(o.Run.OutputDir, Path.Combine(outDir, dir));
                return r;
            }
            var ftMae = FineTune("finetune-mae", FineTuner.FromPretrained(mae, ftOptions), ftOptions);
            rows.Add(new Row("MAE pre-trained", "fine-tune", $"{fEpochs} epochs (+ pre-training {pretrainBudget})", fEpochs, ftMae.TrainSeconds, ftMae.Final.Top1, ftMae.Final.Top5, "finetune-mae"));
            var ftScratch = FineTune("scratch-same-epochs", new VitClassifier(spec, train.NumClasses, ftOptions.GlobalPool, ftOptions.DropPath, seed: s + 2), scratchOptions);
            rows.Add(new Row("randomly initialised", "fine-tune (from scratch)", $"{fEpochs} epochs (same fine-tune budget)", fEpochs, ftScratch.TrainSeconds, ftScratch.Final.Top1, ftScratch.Final.Top5, "scratch-same-epochs"));
            double secondsPerEpoch = ftScratch.TrainSeconds / fEpochs;
            int equalEpochs = Math.Max(fEpochs, (int)Math.Round((pretrainTime + ftMae.TrainSeconds) / secondsPerEpoch));
            var equalOptions = scratchOptions with { Run = scratchOptions.Run with { Epochs = equalEpochs, WarmupEpochs = Math.Min(ftOptions.Run.WarmupEpochs * equalEpochs / fEpochs, equalEpochs - 1) } };
            var ftEqual = FineTune("scratch-same-time", new VitClassifier(spec, train.NumClasses, ftOptions.GlobalPool, ftOptions.DropPath, seed: s + 3), equalOptions);
            rows.Add(new Row("randomly initialised", "fine-tune (from scratch)", string.Create(CultureInfo.InvariantCulture,
                $"{equalEpochs} epochs (same total wall time as pre-training + fine-tuning: {pretrainTime + ftMae.TrainSeconds:F0} s)"),
                equalEpochs, ftEqual.TrainSeconds, ftEqual.Final.Top1, ftEqual.Final.Top5, "scratch-same-time"));

            WriteSummary(Path.Combine(outDir, "summary.csv"), rows);
            string docPath = Path.GetFullPath(parse.GetValue(doc)!);
            WriteReport(docPath, settings.Variant.ClassName, spec, description, pretrainTime, pretrainBudget, rows, notes, ftOptions, scratchOptions.LayerDecay, lpOptions, total.Elapsed.TotalSeconds, parse.Tokens.Select(t => t.Value), outDir);
            Say($"wrote {docPath} and the logs in {outDir} ({total.Elapsed.TotalMinutes:F1} min)");
            return 0;
        })));
        return command;
    }

    /// <summary>
    /// Multinomial logistic regression on the normalised pixels (the Fashion-MNIST benchmark's pixel baseline):
    /// one Linear layer, cross-entropy, AdamW (lr 1e-3, wd 1e-4), 30 epochs of batch 256 on the fixed features.
    /// </summary>
    static (double Top1, double Top5, int Epochs) PixelLogisticRegression(BatchLoader trainEval, BatchLoader testEval, int numClasses, long seed)
    {
        const int epochs = 30;
        static (Tensor X, Tensor Y) Collect(BatchLoader loader)
        {
            var xs = new List<Tensor>();
            var ys = new List<Tensor>();
            foreach (var b in loader.Epoch(0))
            {
                xs.Add(b.Images.flatten(1).clone());
                ys.Add(b.Labels.clone());
                b.Dispose();
            }
            return (torch.cat(xs, 0), torch.cat(ys, 0));
        }
        var (x, y) = Collect(trainEval);
        var (xt, yt) = Collect(testEval);
        torch.random.manual_seed(seed);
        using var linear = nn.Linear(x.shape[1], numClasses);
        using var optimizer = torch.optim.AdamW(linear.parameters(), lr: 1e-3, weight_decay: 1e-4);
        var rng = new Random((int)seed);
        long n = x.shape[0];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var order = torch.tensor(Enumerable.Range(0, (int)n).OrderBy(_ => rng.Next()).Select(i => (long)i).ToArray());
            for (long start = 0; start < n; start += 256)
            {
                long begin = start;
                NoGcDuringTorch.Run(() => // as every training step here: no collection during libtorch's work
                {
                    using var scope = torch.NewDisposeScope();
                    var idx = order.narrow(0, begin, Math.Min(256, n - begin));
                    var loss = nn.functional.cross_entropy(linear.forward(x.index_select(0, idx)), y.index_select(0, idx));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                });
            }
        }
        using var _ = torch.no_grad();
        using var logits = linear.forward(xt);
        var (c1, c5) = Accuracy.CorrectCounts(logits, yt);
        return (100.0 * c1 / yt.shape[0], 100.0 * c5 / yt.shape[0], epochs);
    }

    static void CopyLogs(string runDir, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var name in new[] { TrainingLog.CsvFileName, EvalLog.CsvFileName, RunConfig.FileName })
        {
            var source = Path.Combine(runDir, name);
            if (File.Exists(source)) File.Copy(source, Path.Combine(target, name), overwrite: true);
        }
    }

    static void WriteSummary(string path, IEnumerable<Row> rows)
    {
        var sb = new StringBuilder("encoder,protocol,budget,epochs,train_seconds,top1,top5,log\n");
        foreach (var r in rows)
            sb.Append(string.Create(CultureInfo.InvariantCulture,
                $"\"{r.Encoder}\",\"{r.Protocol}\",\"{r.Budget}\",{r.Epochs},{r.TrainSeconds:F1},{r.Top1:F2},{(double.IsNaN(r.Top5) ? "" : r.Top5.ToString("F2", CultureInfo.InvariantCulture))},{r.Log}\n"));
        MaeDsl.IO.AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>The line after which docs/results.md is written by hand (kept when the command rewrites the file).</summary>
    const string HandWrittenMarker = "<!-- Everything above is written by the `results` command; everything below this line is written by hand and kept when it reruns. -->";

    static void WriteReport(string path, string modelName, MaeSpec spec, string data, double pretrainTime, string pretrainBudget, List<Row> rows,
        List<string> notes, FineTuneOptions ft, double scratchLayerDecay, LinearProbeOptions lp, double totalSeconds, IEnumerable<string> args, string logsDir)
    {
        var c = CultureInfo.InvariantCulture;
        string F(double v) => double.IsNaN(v) ? "–" : v.ToString("F2", c) + "%";
        Row Find(string encoder, string protocolPrefix, string? budgetPart = null) =>
            rows.First(r => r.Encoder == encoder && r.Protocol.StartsWith(protocolPrefix, StringComparison.Ordinal) && (budgetPart is null || r.Budget.Contains(budgetPart, StringComparison.Ordinal)));
        var lpMae = Find("MAE pre-trained", "linear probe");
        var lpRandom = Find("randomly initialised", "linear probe");
        var lr = Find("raw pixels", "logistic");
        var ftMae = Find("MAE pre-trained", "fine-tune");
        var ftSameEpochs = Find("randomly initialised", "fine-tune", "same fine-tune budget");
        var ftSameTime = Find("randomly initialised", "fine-tune", "same total wall time");

        var sb = new StringBuilder();
        sb.AppendLine("# Results: what MAE pre-training is worth on Fashion-MNIST");
        sb.AppendLine();
        sb.AppendLine(string.Create(c, $"Produced by `dotnet run -c Release --project examples/Quickstart -- results {string.Join(' ', args.SkipWhile(a => a == "results"))}`"));
        sb.AppendLine(string.Create(c, $"on {Environment.ProcessorCount} CPU cores ({torch.get_num_threads()} torch threads), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, in {totalSeconds / 60:F1} min in all."));
        sb.AppendLine(string.Create(c, $"Model `{modelName}`: {spec.ImageSize}×{spec.ImageSize}×{spec.Channels} images in {spec.PatchSize}×{spec.PatchSize} patches ({spec.NumPatches}), encoder depth {spec.EncoderDepth} width {spec.EncoderWidth} heads {spec.EncoderHeads}, decoder depth {spec.DecoderDepth} width {spec.DecoderWidth}, mask ratio {spec.MaskRatio}, norm_pix_loss {spec.NormalizePixels.ToString().ToLowerInvariant()}."));
        sb.AppendLine($"Data: {data}. Every accuracy is top-1 on those test images.");
        sb.AppendLine();
        sb.AppendLine("| encoder | k-NN (k = 20) | linear probe | fine-tune |");
        sb.AppendLine("|---|---|---|---|");
        sb.AppendLine(string.Create(c, $"| MAE pre-trained ({pretrainBudget}) | {F(Find("MAE pre-trained", "k-NN").Top1)} | {F(lpMae.Top1)} ({lpMae.Budget}, {lpMae.TrainSeconds:F0} s) | {F(ftMae.Top1)} ({ft.Run.Epochs} epochs, {ftMae.TrainSeconds:F0} s; total with pre-training {pretrainTime + ftMae.TrainSeconds:F0} s) |"));
        sb.AppendLine(string.Create(c, $"| randomly initialised | {F(Find("randomly initialised", "k-NN").Top1)} | {F(lpRandom.Top1)} ({lpRandom.Budget}, {lpRandom.TrainSeconds:F0} s) | {F(ftSameEpochs.Top1)} (same fine-tune budget: {ftSameEpochs.Epochs} epochs, {ftSameEpochs.TrainSeconds:F0} s); {F(ftSameTime.Top1)} (same total wall time: {ftSameTime.Epochs} epochs, {ftSameTime.TrainSeconds:F0} s) |"));
        sb.AppendLine(string.Create(c, $"| raw pixels | {F(Find("raw pixels", "k-NN").Top1)} | {F(lr.Top1)} (logistic regression, {lr.Budget}, {lr.TrainSeconds:F0} s) | |"));
        sb.AppendLine();
        sb.AppendLine("References (full 60,000-image training set, from the Fashion-MNIST paper and its README benchmark): logistic regression on pixels ≈ 84%; small CNNs ≈ 88–93%.");
        sb.AppendLine();
        sb.AppendLine("## Targets");
        sb.AppendLine(string.Create(c, $"- MAE linear probe vs random-init encoder: {F(lpMae.Top1)} vs {F(lpRandom.Top1)} ({(lpMae.Top1 > lpRandom.Top1 ? "beats it" : "does NOT beat it")}, {lpMae.Top1 - lpRandom.Top1:+0.00;-0.00} points)."));
        sb.AppendLine(string.Create(c, $"- MAE linear probe vs raw pixels (logistic regression): {F(lpMae.Top1)} vs {F(lr.Top1)} ({(lpMae.Top1 > lr.Top1 ? "beats it" : "does NOT beat it")}, {lpMae.Top1 - lr.Top1:+0.00;-0.00} points)."));
        sb.AppendLine(string.Create(c, $"- MAE fine-tuning vs from scratch at the same total wall time: {F(ftMae.Top1)} vs {F(ftSameTime.Top1)} ({(ftMae.Top1 > ftSameTime.Top1 ? "beats it" : "does NOT beat it")}, {ftMae.Top1 - ftSameTime.Top1:+0.00;-0.00} points)."));
        sb.AppendLine();
        sb.AppendLine("## Recipes and budgets");
        foreach (var n in notes) sb.AppendLine($"- {n}");
        var ftOfficial = new FineTuneOptions();
        var ftChanges = new List<string> { string.Create(c, $"{ft.Run.Epochs} epochs instead of 100 (50 for ViT-L/H)"), string.Create(c, $"warmup {ft.Run.WarmupEpochs} epoch(s) instead of 5 (scaled with the epochs for the equal-time run)") };
        if (ft.Mixup != ftOfficial.Mixup) ftChanges.Add(string.Create(c, $"mixup {ft.Mixup} instead of {ftOfficial.Mixup}"));
        if (ft.Cutmix != ftOfficial.Cutmix) ftChanges.Add(string.Create(c, $"cutmix {ft.Cutmix} instead of {ftOfficial.Cutmix}"));
        if (ft.RandomErasing != ftOfficial.RandomErasing) ftChanges.Add(string.Create(c, $"random erasing {ft.RandomErasing} instead of {ftOfficial.RandomErasing}"));
        if (ft.MinCropScale != ftOfficial.MinCropScale) ftChanges.Add(string.Create(c, $"RandomResizedCrop scale ({ft.MinCropScale}–1) instead of ({ftOfficial.MinCropScale}–1)"));
        if (scratchLayerDecay != ft.LayerDecay) ftChanges.Add(string.Create(c, $"the from-scratch runs use layer decay {scratchLayerDecay} (it exists to protect pre-trained layers; the paper's from-scratch recipe has none)"));
        ftChanges.Add("RandAugment (rand-m9-mstd0.5-inc1) is not implemented");
        sb.AppendLine(string.Create(c, $"- Fine-tuning (MAE and scratch, the same recipe): main_finetune.py's — AdamW (0.9, 0.999), wd {ft.Run.WeightDecay}, blr {ft.Run.BaseLr:E1} (lr {ft.Run.AbsoluteLr:E2} at batch {ft.Run.BatchSize}), layer decay {ft.LayerDecay}, drop path {ft.DropPath}, label smoothing {ft.LabelSmoothing}, mixup {ft.Mixup}, cutmix {ft.Cutmix}, random erasing {ft.RandomErasing}, RandomResizedCrop ({ft.MinCropScale}–1) + flip, min lr {ft.Run.MinLr:E0}, global pool; evaluation on the unaugmented test images. Changed: {string.Join("; ", ftChanges)}."));
        var lpOfficial = new LinearProbeOptions();
        string lpCrop = lp.MinCropScale == lpOfficial.MinCropScale ? "" : string.Create(c, $"; RandomResizedCrop scale ({lp.MinCropScale}–1) instead of ({lpOfficial.MinCropScale}–1)");
        sb.AppendLine(string.Create(c, $"- Linear probe: main_linprobe.py's recipe — cls token after the encoder's norm, BatchNorm1d(affine=false) + Linear (trunc_normal 0.01), LARS (momentum 0.9, trust 0.001), wd 0, batch {lp.Run.BatchSize}, RandomResizedCrop ({lp.MinCropScale}–1) + flip; changed: absolute lr {lp.Run.AbsoluteLr} (the paper's 6.4 = blr 0.1 × 16384 / 256; blr 0.1 × {lp.Run.BatchSize} / 256 = {0.1 * lp.Run.BatchSize / 256:F3} barely moves a LARS head in a few hundred iterations), warmup {lp.Run.WarmupEpochs} epoch(s) instead of 10, {lp.Run.Epochs} epochs instead of 90{lpCrop}."));
        sb.AppendLine("- Wall times are the training iterations only (no evaluation, no checkpoint writing), measured in this one run (on a machine shared with other jobs they vary: compare the ratios); the time-matched scratch run gets round((pre-training + MAE fine-tuning) / scratch seconds per epoch) epochs.");
        sb.AppendLine();
        sb.AppendLine("## Raw logs");
        string logs = Path.GetRelativePath(Environment.CurrentDirectory, logsDir).Replace('\\', '/');
        sb.AppendLine($"`{logs}/summary.csv` (this table's numbers) and, per run, `{logs}/<run>/metrics.csv` (every iteration: loss, lr, images/s, elapsed), `eval.csv` (top-1, top-5, test loss, training seconds; about six evaluations per fine-tuning run) and `config.json`.");
        sb.AppendLine();
        sb.AppendLine(HandWrittenMarker);
        // the investigation written by hand below the marker survives a re-run
        string kept = File.Exists(path) && File.ReadAllText(path) is var old && old.IndexOf(HandWrittenMarker, StringComparison.Ordinal) is var at and >= 0
            ? old[(at + HandWrittenMarker.Length)..].TrimStart('\r', '\n') : "";
        if (kept.Length > 0) sb.AppendLine().Append(kept);
        MaeDsl.IO.AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}

// `results`: the measurements of docs/results.md (pre-training, k-NN, linear probes, pixel logistic regression,
// fine-tuning vs scratch at equal epochs and equal wall time), with the raw logs.
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

namespace MaeDsl.Cli;

/// <summary>
/// <c>results</c>: the measurements of docs/results.md. On one machine, with every budget recorded:
/// MAE pre-training; k-NN of the MAE encoder, a random encoder and raw pixels; linear probes of the MAE and a
/// random encoder and logistic regression on pixels; fine-tuning of the MAE encoder and training from scratch
/// with the same epochs and with the same total wall time as pre-training + fine-tuning. The raw logs
/// (metrics.csv, eval.csv, config.json of every run, summary.csv) go to --output; the table to --doc.
/// </summary>
internal static class ResultsCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("results",
            "Pre-train as the main job, then measure the MAE encoder against a random one and raw pixels (k-NN, linear probe, fine-tune vs scratch) and " +
            "write docs/results.md with the raw logs");
        var output = new Option<string>("--logs") { Description = "Folder of the raw CSV logs", DefaultValueFactory = _ => Path.Combine("docs", "results") };
        var doc = new Option<string>("--doc") { Description = "The Markdown report", DefaultValueFactory = _ => Path.Combine("docs", "results.md") };
        var work = new Option<string>("--work") { Description = "Scratch folder of checkpoints (not " +
            "committed)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "maedsl-results") };
        var pretrained = new Option<string?>("--pretrained") { Description = "Skip pre-training: these MAE weights (.safetensors), with --pretrain-seconds " +
            "its wall time" };
        var pretrainSeconds = new Option<double>("--pretrain-seconds") { Description = "Wall time of the run that produced " +
            "--pretrained", DefaultValueFactory = _ => 0 };
        var protocols = new ProtocolArguments();
        // the pre-training options of the main job (same names and defaults: --model/--variant, --dataset, --epochs, --batch, --blr, --train-limit, ...)
        var pretrain = new PretrainArguments(useDefault);
        pretrain.AddTo(command, except: [pretrain.Output, pretrain.Resume, pretrain.CheckpointEvery, pretrain.Control.AllowChange,
            pretrain.Control.Overwrite, pretrain.Control.Precision]); // results keeps its pre-training in --work; fp32 throughout
        foreach (var o in new Option[] { output, doc, work, pretrained, pretrainSeconds })
            command.Options.Add(o);
        protocols.AddTo(command);

        command.SetAction((parse, cancel) => OneLineErrors.GuardedAsync(() =>
        {
            MaeDsl.Native.TorchRuntime.EnsureLoaded();
            var total = Stopwatch.StartNew();
            var settings = pretrain.Read(parse);
            OptionCheck.Require(parse.GetValue(pretrainSeconds) >= 0, "--pretrain-seconds", parse.GetValue(pretrainSeconds), "must be >= 0");
            string outDir = Path.GetFullPath(parse.GetValue(output)!), workDir = Path.GetFullPath(parse.GetValue(work)!);
            OutputPath.CreateFolder(outDir, "--logs");
            OutputPath.CreateFolder(workDir, "--work");
            // --work is scratch: its pre-training is redone on every run (Overwrite)
            settings = settings with { Overwrite = true, Options = settings.Options with { Run = settings.Options.Run with { OutputDir = Path.Combine(workDir,
                "pretrain"), TensorBoard = false } } };
            var spec = settings.Spec;
            long s = settings.Options.Run.Seed;
            torch.set_num_threads(settings.Threads);
            var sources = DataSources.Open(settings.Dataset, settings.DataDir, spec.ImageSize, spec.Channels);
            if (sources.Test is null) throw new ArgumentException($"{sources.Description}: no held-out split to evaluate on.");
            var p = protocols.Read(parse, sources.Train.NumClasses, sources.EvalCropPct, settings.Options.Run, settings.Threads);
            int? labelled = p.LabelledLimit ?? settings.TrainLimit;
            var train = SubsetDataset.Balanced(sources.Train, labelled, s);   // class-balanced, drawn with the run's seed
            var test = SubsetDataset.Balanced(sources.Test, p.TestLimit, s);
            double cropPct = sources.EvalCropPct;
            var norm = sources.Normalization;
            string description = $"{sources.Description}; using {train.Count} training and {test.Count} held-out images";
            var rows = new List<ResultsRow>();
            var notes = new List<string>();
            void Say(string line) { Console.WriteLine(line); Console.Out.Flush(); }
            Say($"results for {settings.Model.ClassName} on {description}; {Environment.ProcessorCount} cores, {torch.get_num_threads()} torch threads");

            // every option is checked before the long pre-training
            var (lpOptions, ftOptions, scratchOptions) = (p.LinearProbe, p.FineTune!, p.Scratch!);
            int fEpochs = ftOptions.Run.Epochs;
            string? labelledOption = p.LabelledLimit is { } l ? $"--labelled-limit {l}" : settings.TrainLimit is { } t ? $"--train-limit {t}" : null;
            ftOptions.Run.RequireOptimizerSteps(train.Count, labelledOption, batchTyped: parse.GetResult(protocols.FinetuneBatch) is { Implicit: false },
                batchOption: "--finetune-batch");
            lpOptions.Run.RequireOptimizerSteps(train.Count, labelledOption, batchTyped: parse.GetResult(protocols.LinprobeBatch) is { Implicit: false },
                batchOption: "--linprobe-batch");

            // ---- 1. MAE pre-training exactly as the main job (or given weights) ----
            MaskedAutoencoder mae;
            double pretrainTime;
            string pretrainBudget;
            var po = settings.Options.Run;
            if (parse.GetValue(pretrained) is { } weights)
            {
                if (!(parse.GetValue(pretrainSeconds) > 0))
                    throw new ArgumentException(
                        "--pretrained needs --pretrain-seconds (the wall time of the pre-training that produced the weights) for the time-matched scratch run");
                mae = settings.Build(s);
                MaeDsl.Checkpoints.StateDicts.Load(mae, weights, strict: true);
                pretrainTime = parse.GetValue(pretrainSeconds);
                pretrainBudget = string.Create(CultureInfo.InvariantCulture, $"given weights, {pretrainTime:F0} s");
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"MAE pre-training: weights {weights} given with --pretrained; its wall time {pretrainTime:F0} s given with --pretrain-seconds."));
            }
            else
            {
                var outcome = Pretraining.Run(settings, cancel);
                outcome.Folder.Dispose();
                mae = outcome.Model;
                var result = outcome.Result;
                pretrainTime = result.Elapsed.TotalSeconds;
                pretrainBudget = string.Create(CultureInfo.InvariantCulture, $"{po.Epochs} epochs, {pretrainTime:F0} s");
                CopyLogs(po.OutputDir, Path.Combine(outDir, "pretrain"));
                notes.Add(string.Create(CultureInfo.InvariantCulture,
                    $"MAE pre-training (the main job's recipe): {po.Epochs} epochs × {result.Steps / po.Epochs} iterations of {po.BatchSize}, lr " +
                        $"{po.AbsoluteLr:G3} (blr {po.BaseLr:G3}), warmup {po.WarmupEpochs} epoch(s), AdamW (0.9, 0.95), wd {po.WeightDecay}, " +
                        $"RandomResizedCrop ({settings.MinCropScale}–1) + flip; mean loss of the last epoch {result.MeanLossLastEpoch:F4}; {pretrainTime:F0} " +
                        $"s ({result.ImagesPerSecond:F0} images/s)."));
            }
            using var _mae = mae;
            var device = Devices.Resolve(po.Device);
            Devices.MoveModel(mae, device);   // given weights load on the CPU; a pre-trained model is there already
            mae.eval();

            // ---- 2. k-NN (weighted, k 20, T 0.07) ----
            var evalTransform = Transforms.Eval(spec.ImageSize, norm, cropPct);
            var trainEval = new BatchLoader(train, 256, evalTransform, shuffle: false, dropLast: false, seed: s);
            var testEval = new BatchLoader(test, 256, evalTransform, shuffle: false, dropLast: false, seed: s);
            using var randomMae = settings.Build(s + 1);
            Devices.MoveModel(randomMae, device);
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
                rows.Add(new ResultsRow(name, "k-NN (k=20, T=0.07)", "no training", 0, clock.Elapsed.TotalSeconds, 100 * knn.Accuracy, double.NaN, ""));
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
                var r = probe.Run(train, test, norm, cancel: cancel);
                CopyLogs(o.Run.OutputDir, Path.Combine(outDir, dir));
                rows.Add(new ResultsRow(name, "linear probe (BN + linear, LARS)", $"{o.Run.Epochs} epochs", o.Run.Epochs, r.TrainSeconds, r.Final.Top1,
                    r.Final.Top5, dir));
            }
            {
                var clock = Stopwatch.StartNew();
                var (top1, top5, epochs) = PixelLogisticRegression.Fit(trainEval, testEval, train.NumClasses, s);
                rows.Add(new ResultsRow("raw pixels", "logistic regression (linear on normalised pixels, AdamW)", $"{epochs} epochs", epochs,
                    clock.Elapsed.TotalSeconds, top1, top5, ""));
                Say(string.Create(CultureInfo.InvariantCulture, $"logistic regression on pixels: {top1:F2}%"));
            }

            // ---- 4. fine-tuning vs training from scratch ----
            ClassifierRunResult FineTune(string dir, VitClassifier model, FineTuneOptions o)
            {
                // about six evaluations per run, so eval.csv shows the curve (evaluation is not counted in the training time)
                o = o with { Run = o.Run with { OutputDir = Path.Combine(workDir, dir), CheckpointPeriod = o.Run.Epochs }, EvalPeriod = Math.Max(1,
                    o.Run.Epochs / 6) };
                using var _ = model;
                using var tuner = new FineTuner(model, o);
                Say($"fine-tune {dir}: {o.Run.Epochs} epochs, batch {o.Run.BatchSize}, lr {o.Run.AbsoluteLr:E2}, layer decay {o.LayerDecay}");
                var r = tuner.Run(train, test, norm, cancel: cancel);
                CopyLogs(o.Run.OutputDir, Path.Combine(outDir, dir));
                return r;
            }
            var ftMae = FineTune("finetune-mae", FineTuner.FromPretrained(mae, ftOptions), ftOptions);
            rows.Add(new ResultsRow("MAE pre-trained", "fine-tune", $"{fEpochs} epochs (+ pre-training {pretrainBudget})", fEpochs, ftMae.TrainSeconds,
                ftMae.Final.Top1, ftMae.Final.Top5, "finetune-mae"));
            var ftScratch = FineTune("scratch-same-epochs", new VitClassifier(spec, train.NumClasses, ftOptions.GlobalPool, ftOptions.DropPath, seed: s + 2),
                scratchOptions);
            rows.Add(new ResultsRow("randomly initialised", "fine-tune (from scratch)", $"{fEpochs} epochs (same fine-tune budget)", fEpochs,
                ftScratch.TrainSeconds, ftScratch.Final.Top1, ftScratch.Final.Top5, "scratch-same-epochs"));
            double secondsPerEpoch = ftScratch.TrainSeconds / fEpochs;
            int equalEpochs = Math.Max(fEpochs, (int)Math.Round((pretrainTime + ftMae.TrainSeconds) / secondsPerEpoch));
            var equalOptions = scratchOptions with { Run = scratchOptions.Run with { Epochs = equalEpochs,
                WarmupEpochs = Math.Min(ftOptions.Run.WarmupEpochs * equalEpochs / fEpochs, equalEpochs - 1) } };
            var ftEqual = FineTune("scratch-same-time", new VitClassifier(spec, train.NumClasses, ftOptions.GlobalPool, ftOptions.DropPath, seed: s + 3),
                equalOptions);
            rows.Add(new ResultsRow("randomly initialised", "fine-tune (from scratch)", string.Create(CultureInfo.InvariantCulture,
                $"{equalEpochs} epochs (same total wall time as pre-training + fine-tuning: {pretrainTime + ftMae.TrainSeconds:F0} s)"),
                equalEpochs, ftEqual.TrainSeconds, ftEqual.Final.Top1, ftEqual.Final.Top5, "scratch-same-time"));

            ResultsReport.WriteSummary(Path.Combine(outDir, "summary.csv"), rows);
            string docPath = Path.GetFullPath(parse.GetValue(doc)!);
            var run = new ResultsRun(CommandLine(parse.Tokens.Select(t => t.Value)), settings.Model.ClassName, spec, description, pretrainTime, pretrainBudget,
                notes, ftOptions, scratchOptions.LayerDecay, lpOptions, total.Elapsed.TotalSeconds,
                Path.GetRelativePath(Environment.CurrentDirectory, outDir).Replace('\\', '/'), Environment.ProcessorCount, torch.get_num_threads(),
                    DateTime.UtcNow);
            ResultsReport.Write(docPath, run, rows);
            Say($"wrote {docPath} and the logs in {outDir} ({total.Elapsed.TotalMinutes:F1} min)");
            return 0;
        }));
        return command;
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

    /// <summary>
    /// How the report quotes the command: <c>dotnet run -c Release --project examples/X -- results ...</c> when the
    /// application is the repository's example X run from the repository root, else the application's name.
    /// </summary>
    static string CommandLine(IEnumerable<string> tokens)
    {
        string app = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "maedsl";
        string example = Path.Combine("examples", app);
        string program = Directory.Exists(example) ? $"dotnet run -c Release --project examples/{app} --" : app;
        return $"{program} results {string.Join(' ', tokens.SkipWhile(a => a == "results"))}";
    }
}

// AblationRunner: runs the points of the paper's sweeps in one folder: pre-training (resumed where it stopped, never redone
// once finished), then k-NN, linear probe and fine-tune of its encoder; and the baselines every plot draws.
using System.Diagnostics;
using MaeDsl.Data;
using MaeDsl.Evaluation;
using MaeDsl.Experiments;
using MaeDsl.Training;
using MaeDsl.Training.FineTuning;
using MaeDsl.Training.LinearProbing;
using MaeDsl.Checkpoints;
using MaeDsl.Training.Loop;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>
/// One sweep folder. A point's pre-training is a run folder under <c>runs/&lt;run&gt;/pretrain</c>, named after what it trains
/// (model, masking, epochs), so the base model's run serves every sweep it belongs to. Once a run's protocols are measured its
/// <c>result.json</c> is written, and a later sweep reads it instead of running anything.
/// </summary>
internal sealed class AblationRunner(PretrainSettings settings, Protocols protocols, DataSources data, string folder, CancellationToken cancel)
{
    public const string BaselinesFile = "baselines.json", ResultFile = "result.json", PretrainFile = "pretrain.json";

    readonly IImageDataset labelled = SubsetDataset.Balanced(data.Train, protocols.LabelledLimit ?? settings.TrainLimit, settings.Options.Run.Seed);
    readonly IImageDataset test = SubsetDataset.Balanced(data.Test!, protocols.TestLimit, settings.Options.Run.Seed);
    long Seed => settings.Options.Run.Seed;

    public string Describe => $"{labelled.Count} labelled and {test.Count} held-out images";

    /// <summary>The run folder of what a point pre-trains: e.g. <c>runs/tiny-4ep</c>, <c>runs/tiny-ratio0.5-4ep</c>, <c>runs/tiny-block-4ep</c>.</summary>
    public string RunFolder(AblationPoint p)
    {
        string ratio = p.Masking?.Ratio is { } r ? FormattableString.Invariant($"-ratio{r}") : "";
        string strategy = p.Masking?.Strategy is { } s and not MaskingStrategy.Random ? "-" + s.ToString().ToLowerInvariant() : "";
        string masking = ratio + strategy;
        return Path.Combine(folder, "runs", $"{p.Model.Key}{masking}-{p.Epochs}ep");
    }

    /// <summary>Whether the point's measurements are on disk already.</summary>
    public AblationRow? Finished(AblationPoint p) => AblationResults.Load<AblationRow>(Path.Combine(RunFolder(p), ResultFile));

    /// <summary>Pre-trains the point (or resumes or reuses its pre-training) and measures it under every protocol.</summary>
    public AblationRow Run(AblationPoint p)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        string dir = RunFolder(p);
        var (model, pretrained) = Pretrain(p, dir);
        using var _ = model;
        var clock = Stopwatch.StartNew();
        double knn = Knn(model);
        Say($"  k-NN {knn:F2}%");
        double probe = LinearProbeTop1(model, Path.Combine(dir, "linprobe"));
        Say($"  linear probe {probe:F2}%");
        double ft = double.NaN;
        if (protocols.FineTune is { } o)
        {
            using var classifier = FineTuner.FromPretrained(model, o);
            ft = FineTuneTop1(classifier, o, Path.Combine(dir, "finetune"));
            Say($"  fine-tune {ft:F2}%");
        }
        var row = new AblationRow("", p.Name, p.Model.ClassName, p.X, p.Label, p.Epochs, pretrained.Images, pretrained.Loss, knn, probe, ft,
            pretrained.Seconds, clock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds, settings.Threads);
        AblationResults.Save(Path.Combine(dir, ResultFile), row);
        return row;
    }

    /// <summary>What a finished pre-training recorded: the images it processed, its last epoch's mean loss and its training seconds.</summary>
    internal sealed record PretrainRecord(long Images, double Loss, double Seconds, string Weights);

    (MaskedAutoencoder Model, PretrainRecord Record) Pretrain(AblationPoint p, string dir)
    {
        string runDir = Path.Combine(dir, "pretrain"), recordPath = Path.Combine(dir, PretrainFile);
        if (AblationResults.Load<PretrainRecord>(recordPath) is { } done && File.Exists(done.Weights))
        {
            Say($"  pre-training done earlier: {done.Weights}");
            var loaded = p.Model.Create(Seed, p.Masking);
            StateDicts.Load(loaded, done.Weights, strict: true);
            loaded.Precision = settings.Options.Run.Precision;
            loaded.eval();
            return (loaded, done);
        }
        string last = Path.Combine(runDir, "checkpoints", CheckpointStore.LastFileName);
        string? resume = File.Exists(last) ? last : null;
        if (resume is not null && CheckpointStore.ReadInfo(resume) is { MidEpoch: false } info && info.Epoch == p.Epochs - 1)
        {
            // stopped after the last epoch's checkpoint and before its record: the run is complete, its record is written now
            Say($"  pre-training finished earlier: {resume}");
            var model = p.Model.Create(Seed, p.Masking);
            CheckpointStore.LoadModel(resume, model);
            model.Precision = settings.Options.Run.Precision;
            model.eval();
            return (model, Record(dir, runDir, p.Epochs, info, LastEpochMeanLoss(Path.Combine(runDir, TrainingLog.CsvFileName), info.Epoch)));
        }
        if (resume is not null) Say($"  resuming the pre-training from {resume}");
        var s = settings with
        {
            Model = p.Model, Masking = p.Masking, Resume = resume, Overwrite = resume is null,   // a folder without a checkpoint holds nothing to keep
            Options = settings.Options with { Run = settings.Options.Run with { Epochs = p.Epochs, OutputDir = runDir, TensorBoard = false } },
        };
        var outcome = Pretraining.Run(s, cancel);
        outcome.Folder.Dispose();
        return (outcome.Model, Record(dir, runDir, p.Epochs, CheckpointStore.ReadInfo(outcome.Result.LastCheckpoint), outcome.Result.MeanLossLastEpoch));
    }

    /// <summary>Writes the record of a finished pre-training (what the sweep reads instead of redoing it).</summary>
    PretrainRecord Record(string dir, string runDir, int epochs, CheckpointInfo last, double meanLoss)
    {
        var record = new PretrainRecord(last.GlobalStep * settings.Options.Run.BatchSize * settings.Options.Run.Ranks, meanLoss, last.TrainSeconds,
            Path.Combine(runDir, "checkpoints", $"checkpoint-{epochs - 1:D4}.safetensors"));
        AblationResults.Save(Path.Combine(dir, PretrainFile), record);
        return record;
    }

    /// <summary>The mean finite loss of <paramref name="epoch"/> in a run's metrics.csv (step,epoch,epoch_fraction,loss,…).</summary>
    static double LastEpochMeanLoss(string metricsCsv, int epoch)
    {
        var losses = File.ReadLines(metricsCsv).Skip(1).Select(l => l.Split(','))
            .Where(f => f.Length > 3 && f[1] == epoch.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Select(f => double.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture)).Where(double.IsFinite).ToList();
        return losses.Count > 0 ? losses.Average() : double.NaN;
    }

    /// <summary>Weighted k-NN (k 20, T 0.07) of the encoder's mean patch token: the labelled images are the memory bank.</summary>
    double Knn(MaskedAutoencoder mae) => KnnOf(x => MaeDsl.Evaluation.Knn.PatchTokenMean(mae.Encode(x)));

    double KnnOf(Func<Tensor, Tensor> featurize)
    {
        var transform = data.EvalTransform(test);
        var bank = new BatchLoader(labelled, 256, data.EvalTransform(labelled), shuffle: false, dropLast: false, seed: Seed);
        var queries = new BatchLoader(test, 256, transform, shuffle: false, dropLast: false, seed: Seed);
        return 100 * MaeDsl.Evaluation.Knn.Evaluate(featurize, Batch.Pairs(bank.Epoch(0)), Batch.Pairs(queries.Epoch(0)), labelled.NumClasses).Accuracy;
    }

    double LinearProbeTop1(MaskedAutoencoder mae, string dir)
    {
        manual_seed(Seed);   // a point's numbers depend on its seed only, never on what this process ran before (a resumed sweep's)
        var o = protocols.LinearProbe with { Run = protocols.LinearProbe.Run with { OutputDir = Fresh(dir), Precision = settings.Options.Run.Precision } };
        using var model = LinearProbe.CreateModel(mae, o, Seed);
        using var probe = new LinearProbe(model, o);
        return probe.Run(labelled, test, data.Normalization, TextWriter.Null, cancel).Final.Top1;
    }

    double FineTuneTop1(VitClassifier model, FineTuneOptions o, string dir)
    {
        manual_seed(Seed);   // drop path, mixup and the loader's draws: the same in a resumed sweep as in an uninterrupted one
        o = o with
        {
            Run = o.Run with { OutputDir = Fresh(dir), CheckpointPeriod = o.Run.Epochs, Precision = settings.Options.Run.Precision }, EvalPeriod = o.Run.Epochs,
        };
        using var tuner = new FineTuner(model, o);
        return tuner.Run(labelled, test, data.Normalization, TextWriter.Null, cancel).Final.Top1;
    }

    /// <summary>The baselines every plot draws (computed once per folder): k-NN and the linear protocol on raw pixels and on a randomly
    /// initialised encoder of the base model, and that ViT trained from scratch with the points' fine-tuning budget.</summary>
    public AblationBaselines Baselines()
    {
        string path = Path.Combine(folder, BaselinesFile);
        if (AblationResults.Load<AblationBaselines>(path) is { } done) return done;
        var clock = Stopwatch.StartNew();
        Say("baselines: raw pixels and a randomly initialised encoder");
        double knnPixels = KnnOf(MaeDsl.Evaluation.Knn.RawPixels);
        var train = new BatchLoader(labelled, 256, data.EvalTransform(labelled), shuffle: false, dropLast: false, seed: Seed);
        var held = new BatchLoader(test, 256, data.EvalTransform(test), shuffle: false, dropLast: false, seed: Seed);
        double logistic = PixelLogisticRegression.Fit(train, held, labelled.NumClasses, Seed).Top1;
        using var random = settings.Build(Seed + 1);
        random.Precision = settings.Options.Run.Precision;
        random.eval();
        double knnRandom = Knn(random);
        double probeRandom = LinearProbeTop1(random, Path.Combine(folder, "runs", "baseline-linprobe"));
        double scratch = double.NaN;
        if (protocols.Scratch is { } o)
        {
            using var vit = new VitClassifier(settings.Spec, labelled.NumClasses, o.GlobalPool, o.DropPath, seed: Seed + 2);
            scratch = FineTuneTop1(vit, o, Path.Combine(folder, "runs", "baseline-scratch"));
        }
        var b = new AblationBaselines(knnPixels, logistic, knnRandom, probeRandom, scratch, clock.Elapsed.TotalSeconds);
        Say(FormattableString.Invariant($"  raw pixels: k-NN {knnPixels:F2}%, logistic regression {logistic:F2}%; ") +
            FormattableString.Invariant($"random encoder: k-NN {knnRandom:F2}%, linear probe {probeRandom:F2}%") +
            (double.IsFinite(scratch) ? FormattableString.Invariant($", from scratch {scratch:F2}%") : ""));
        AblationResults.Save(path, b);
        return b;
    }

    /// <summary>The probe's folder, emptied: a probe stopped half-way is redone (they are short), never resumed.</summary>
    static string Fresh(string dir)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        return dir;
    }

    static void Say(string line)
    {
        Console.WriteLine(line);
        Console.Out.Flush();
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Evaluation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training;

/// <summary>Top-1 / top-5 accuracy (percent) and mean cross-entropy of one evaluation pass.</summary>
public sealed record EvalResult(double Top1, double Top5, double Loss, long Samples);

/// <summary>One row of eval.csv: the evaluation after an epoch, with the training loss and wall time so far.</summary>
public sealed record EpochEval(int Epoch, double Top1, double Top5, double TestLoss, double TrainLoss, double TrainSeconds);

/// <summary>What a fine-tune or linear-probe run reports.</summary>
/// <param name="Final">The evaluation after the last epoch.</param>
/// <param name="Best">The best top-1 of all evaluations (the official "Max accuracy").</param>
/// <param name="TrainSeconds">Wall time of the training iterations of all epochs (including the ones before a resume),
/// without evaluation and checkpoint writing.</param>
/// <param name="Evals">Every evaluation, as eval.csv holds them.</param>
public sealed record ClassifierRunResult(EvalResult Final, double Best, int Epochs, long Steps, double TrainSeconds,
    double TotalSeconds, string LastCheckpoint, IReadOnlyList<EpochEval> Evals);

/// <summary>
/// The loop shared by <see cref="FineTuner"/> and <see cref="LinearProbe"/>: the official
/// engine_finetune.train_one_epoch (lr set per iteration at the fractional epoch every accum_iter iterations,
/// loss / accum_iter, optimizer step every accum_iter iterations, non-finite loss stops) and
/// engine_finetune.evaluate (eval mode, cross-entropy, top-1/top-5), with the pre-training runner's
/// checkpoints (atomic, resumable), metrics.csv, TensorBoard and progress, plus eval.csv (one row per evaluation).
/// </summary>
public static class ClassifierTraining
{
    public const string EvalCsvFileName = "eval.csv";
    public const string EvalCsvHeader = "epoch,test_acc1,test_acc5,test_loss,train_loss,train_seconds";

    /// <summary>One evaluation pass: eval mode, no grad, cross-entropy on hard labels, top-1/top-5 in percent.</summary>
    public static EvalResult Evaluate(nn.Module<Tensor, Tensor> model, IEnumerable<(Tensor Images, Tensor Labels)> batches)
    {
        var meter = new AccuracyMeter();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            foreach (var (images, labels) in batches)
            {
                GcQuiet.Run(() =>
                {
                    using var scope = NewDisposeScope();
                    var logits = model.forward(images);
                    var loss = nn.functional.cross_entropy(logits, labels).item<float>();
                    meter.Add(logits, labels, loss);
                });
            }
        }
        finally { model.train(wasTraining); }
        if (meter.Samples == 0) throw new ArgumentException("Evaluate: the evaluation data yielded no batch.", nameof(batches));
        return new EvalResult(meter.Top1, meter.Top5, meter.Loss, meter.Samples);
    }

    /// <summary>The batches of a <see cref="BatchLoader"/> epoch as (images, labels) pairs.</summary>
    public static IEnumerable<(Tensor Images, Tensor Labels)> Pairs(IEnumerable<Batch> batches)
    {
        foreach (var b in batches)
        {
            using (b) yield return (b.Images, b.Labels);
        }
    }

    /// <summary>Everything the loop needs besides the model.</summary>
    internal sealed record Setup(
        string RunName, string ModelName, string OutputDir, int Epochs, int BatchSize, int AccumIter, long Seed,
        LrSchedule Schedule, double? ClipGrad, int CheckpointPeriod, int EvalPeriod, bool TensorBoard, string? Resume,
        JsonObject Config, BatchLoader Train, BatchLoader Val);

    /// <summary>
    /// Runs the epochs. <paramref name="setLr"/> applies the schedule's lr to the optimizer's groups;
    /// <paramref name="loss"/> computes one iteration's training loss from (images, labels, epoch, step).
    /// </summary>
    internal static ClassifierRunResult Run(Setup s, nn.Module<Tensor, Tensor> model, OptimizerHelper optimizer,
        IReadOnlyList<Parameter> trainable, Action<double> setLr, Func<Tensor, Tensor, int, int, Tensor> loss,
        TextWriter? console, CancellationToken cancel)
    {
        int stepsPerEpoch = s.Train.BatchesPerEpoch;
        if (stepsPerEpoch < 1)
            throw new ArgumentException($"{s.RunName}: the training set ({s.Train.Dataset.Count} images) gives no full batch of {s.BatchSize}.");
        var store = new CheckpointStore(Path.Combine(s.OutputDir, "checkpoints"), s.CheckpointPeriod);
        int startEpoch = 0;
        long globalStep = 0, optimizerSteps = 0;
        string? lastGood = null;
        var evals = new List<EpochEval>();
        double trainSecondsBefore = 0;
        if (s.Resume is not null)
        {
            var info = CheckpointStore.Load(s.Resume, model, optimizer, s.ModelName);
            startEpoch = info.Epoch + 1;
            globalStep = info.GlobalStep;
            optimizerSteps = info.OptimizerSteps;
            lastGood = Path.GetFullPath(s.Resume);
            if (globalStep != (long)startEpoch * stepsPerEpoch)
                throw new InvalidDataException($"{s.Resume}: written after {globalStep} iterations in {startEpoch} epochs, but this run has {stepsPerEpoch} iterations per epoch (did the batch size or the dataset change?)");
            foreach (var key in new[] { "Seed", "BatchSize", "AccumIter" })
                if (info.Config[key]?.ToJsonString() != s.Config[key]?.ToJsonString())
                    throw new InvalidDataException($"{s.Resume}: written with {key} {info.Config[key]}, this run has {s.Config[key]}: resume with the same value.");
            if (startEpoch >= s.Epochs)
                throw new ArgumentException($"{s.Resume} already completed epoch {info.Epoch + 1} of {s.Epochs}: raise the number of epochs to train further.");
            // eval.csv of the run being resumed (the same output folder); a fresh folder starts a new one
            string evalPath = Path.Combine(s.OutputDir, EvalCsvFileName);
            if (File.Exists(evalPath)) evals.AddRange(ReadEvalCsv(evalPath).Where(e => e.Epoch < startEpoch));
            trainSecondsBefore = info.Config["train_seconds"]?.GetValue<double>() ?? 0;
        }
        else
        {
            torch.random.manual_seed(s.Seed);
        }

        Directory.CreateDirectory(s.OutputDir);
        AtomicFile.Write(Path.Combine(s.OutputDir, "config.json"), stream =>
        {
            using var w = new StreamWriter(stream, leaveOpen: true);
            w.Write(s.Config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        });
        WriteEvalCsv(Path.Combine(s.OutputDir, EvalCsvFileName), evals);

        using var log = new TrainingLog(s.OutputDir, globalStep, s.TensorBoard, console);
        var tensorboard = s.TensorBoard ? torch.utils.tensorboard.SummaryWriter(Path.Combine(s.OutputDir, "tensorboard", "eval")) : null;
        if (s.Resume is not null) log.Message($"{s.RunName}: resumed from {lastGood} at epoch {startEpoch + 1}, iteration {globalStep}");
        long totalSteps = (long)s.Epochs * stepsPerEpoch;
        var clock = Stopwatch.StartNew();
        double trainSeconds = trainSecondsBefore;
        EvalResult? final = null;

        log.Run(globalStep, totalSteps, () =>
        {
            for (int epoch = startEpoch; epoch < s.Epochs; epoch++)
            {
                model.train();
                optimizer.zero_grad();
                double lossSum = 0, lr = 0;
                int step = 0;
                var epochClock = Stopwatch.StartNew();
                foreach (var batch in s.Train.Epoch(epoch, cancellationToken: cancel))
                {
                    cancel.ThrowIfCancellationRequested();
                    var stepClock = Stopwatch.StartNew();
                    using var scope = torch.NewDisposeScope();
                    using var _ = batch;
                    double epochFraction = LrSchedule.FractionalEpoch(epoch, step, stepsPerEpoch);
                    if (step % s.AccumIter == 0)
                    {
                        lr = s.Schedule.At(epochFraction);
                        setLr(lr);
                    }
                    bool update = (step + 1) % s.AccumIter == 0;
                    // no collection while libtorch runs the step (TorchSharp's temporary Scalars, see GcQuiet)
                    float lossValue = GcQuiet.Run(() =>
                    {
                        var value = loss(batch.Images, batch.Labels, epoch, step);
                        float v = value.item<float>();
                        if (!float.IsFinite(v))
                            throw new NonFiniteLossException(v, epoch, globalStep, lr, lastGood);
                        (value / s.AccumIter).backward();
                        if (update)
                        {
                            if (s.ClipGrad is { } maxNorm) nn.utils.clip_grad_norm_(trainable, maxNorm);
                            optimizer.step();
                            optimizer.zero_grad();
                        }
                        return v;
                    });
                    if (update) optimizerSteps++;
                    stepClock.Stop();
                    lossSum += lossValue;
                    log.Step(new StepMetrics(globalStep, epoch, epochFraction, lossValue, lr,
                        s.BatchSize / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9), clock.Elapsed.TotalSeconds),
                        s.Epochs, stepsPerEpoch, update);
                    step++;
                    globalStep++;
                }
                if (step != stepsPerEpoch)
                    throw new InvalidOperationException($"{s.RunName}: the loader yielded {step} batches in epoch {epoch}, expected {stepsPerEpoch}.");
                trainSeconds += epochClock.Elapsed.TotalSeconds;
                double trainLoss = lossSum / step;

                bool last = epoch + 1 == s.Epochs;
                if ((epoch + 1) % s.EvalPeriod == 0 || last)
                {
                    var result = Evaluate(model, Pairs(s.Val.Epoch(0, cancellationToken: cancel)));
                    final = result;
                    evals.Add(new EpochEval(epoch, result.Top1, result.Top5, result.Loss, trainLoss, trainSeconds));
                    AppendEvalCsv(Path.Combine(s.OutputDir, EvalCsvFileName), evals[^1]);
                    if (tensorboard is not null)
                    {
                        tensorboard.add_scalar("perf/test_acc1", (float)result.Top1, epoch);
                        tensorboard.add_scalar("perf/test_acc5", (float)result.Top5, epoch);
                        tensorboard.add_scalar("perf/test_loss", (float)result.Loss, epoch);
                    }
                    log.Message(string.Create(CultureInfo.InvariantCulture,
                        $"{s.RunName} epoch {epoch + 1}/{s.Epochs}: train loss {trainLoss:F4}; accuracy of the network on the {result.Samples} test images: top-1 {result.Top1:F2}% top-5 {result.Top5:F2}% (max {evals.Max(e => e.Top1):F2}%)"));
                }

                log.Flush();
                var config = s.Config.DeepClone().AsObject();
                config["train_seconds"] = trainSeconds;
                var info = new CheckpointInfo(s.ModelName, epoch, globalStep, optimizerSteps, config, TorchRngState());
                lastGood = store.Save(model, optimizer, info, store.IsPeriodic(epoch, s.Epochs));
            }
            return 0;
        }, s.RunName);

        clock.Stop();
        if (final is null) throw new InvalidOperationException($"{s.RunName}: no evaluation ran.");
        return new ClassifierRunResult(final, evals.Max(e => e.Top1), s.Epochs, globalStep, trainSeconds, clock.Elapsed.TotalSeconds, lastGood!, evals);
    }

    static byte[] TorchRngState()
    {
        using var state = torch.random.get_rng_state();
        return state.data<byte>().ToArray();
    }

    // ---- eval.csv ----

    static string Format(EpochEval e) => string.Create(CultureInfo.InvariantCulture,
        $"{e.Epoch},{e.Top1:R},{e.Top5:R},{e.TestLoss:R},{e.TrainLoss:R},{e.TrainSeconds:F3}");

    static void WriteEvalCsv(string path, IEnumerable<EpochEval> rows) => AtomicFile.Write(path, stream =>
    {
        using var w = new StreamWriter(stream, leaveOpen: true);
        w.WriteLine(EvalCsvHeader);
        foreach (var r in rows) w.WriteLine(Format(r));
    });

    static void AppendEvalCsv(string path, EpochEval row) => File.AppendAllText(path, Format(row) + Environment.NewLine);

    /// <summary>Reads an eval.csv written by a fine-tune or linear-probe run.</summary>
    public static List<EpochEval> ReadEvalCsv(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"eval log not found: {Path.GetFullPath(path)}", path);
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != EvalCsvHeader)
            throw new InvalidDataException($"{path}: not an eval log (expected the header '{EvalCsvHeader}').");
        var c = CultureInfo.InvariantCulture;
        var rows = new List<EpochEval>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var f = lines[i].Split(',');
            if (f.Length != 6) throw new InvalidDataException($"{path}:{i + 1}: expected 6 fields, got {f.Length}.");
            rows.Add(new EpochEval(int.Parse(f[0], c), double.Parse(f[1], c), double.Parse(f[2], c), double.Parse(f[3], c), double.Parse(f[4], c), double.Parse(f[5], c)));
        }
        return rows;
    }
}

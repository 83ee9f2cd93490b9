// TrainingLoop: the one training loop of every recipe (the official engine_pretrain/engine_finetune train_one_epoch
// with util/misc.py's resume, checkpoints and logging).
using System.Diagnostics;
using System.Globalization;
using MaeDsl.Checkpoints;
using MaeDsl.Evaluation;
using MaeDsl.IO;
using MaeDsl.Native;
using MaeDsl.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Training.Loop;

/// <summary>
/// The training loop every recipe runs (pre-training, fine-tuning, linear probing), as the official
/// engine_pretrain.py / engine_finetune.py share util/misc.py:
/// <list type="bullet">
/// <item>resume (<see cref="RunOptions.Resume"/>): model, optimizer and torch's generator from the checkpoint, which must be of
///   the same model and recipe, seed, batch and accum, written at an epoch boundary of this data; or a fresh start with
///   <c>torch.manual_seed(seed)</c>;</item>
/// <item>config.json (<see cref="RunConfig"/>), metrics.csv / TensorBoard / progress (<see cref="TrainingLog"/>), eval.csv (<see cref="EvalLog"/>);</item>
/// <item>per iteration: the lr of the schedule at the fractional epoch, set every accum_iter iterations on every param group
///   times its scale (<see cref="LrSchedule.Apply"/>); loss / accum_iter backward; every accum_iter iterations gradient clipping
///   (if set), an optimizer step and zero_grad; zero_grad at every epoch start (a trailing partial accumulation is dropped);</item>
/// <item>a non-finite loss stops the run before its backward (<see cref="NonFiniteLossException"/> names the step and the last good checkpoint);</item>
/// <item>after every epoch: the recipe's evaluation when due, then a checkpoint (<see cref="CheckpointStore"/>: checkpoint-last
///   every epoch, a numbered one with .safetensors every CheckpointPeriod epochs and at the end);</item>
/// <item>cancellation between two iterations (the last checkpoint stays the resume point);</item>
/// <item>every step, evaluation batch and checkpoint save runs in <see cref="NoGcDuringTorch"/>, each step in its own DisposeScope.</item>
/// </list>
/// </summary>
public sealed class TrainingLoop
{
    public TrainingLoop(RunOptions run)
    {
        run.Validate();
        Run = run;
        Schedule = run.Schedule();
        Store = new CheckpointStore(run.CheckpointDir, run.CheckpointPeriod);
    }

    public RunOptions Run { get; }
    public LrSchedule Schedule { get; }
    public CheckpointStore Store { get; }

    /// <summary>Called after each checkpoint (e.g. to draw the reconstruction grid and the loss curve).</summary>
    public event Action<CheckpointWritten>? CheckpointWritten;

    /// <summary>Runs <paramref name="recipe"/>'s epochs from the start or from a checkpoint.</summary>
    /// <param name="console">Where plain progress lines go; null: stdout, with a progress bar on a terminal.</param>
    /// <param name="cancel">Stops the run between two iterations.</param>
    /// <param name="resumeFrom">The checkpoint to resume from; null: <see cref="RunOptions.Resume"/>.</param>
    public TrainingResult Execute<TBatch>(TrainingRecipe<TBatch> recipe, TextWriter? console = null, CancellationToken cancel = default, string? resumeFrom = null)
        where TBatch : IDisposable
    {
        var run = resumeFrom is null ? Run : Run with { Resume = resumeFrom };
        var model = recipe.Model;
        var optimizer = recipe.Optimizer;
        string name = recipe.DisplayName;
        int stepsPerEpoch = recipe.StepsPerEpoch;
        if (stepsPerEpoch < 1)
            throw new ArgumentException($"{name}: the data gives no full batch of {run.BatchSize} (--batch) per epoch");
        if (run.Threads > 0) torch.set_num_threads(run.Threads);

        var config = RunConfig.For(recipe.Kind, recipe.ModelName, run, recipe.Options, recipe.Spec, recipe.Derived);
        config.Derived["steps_per_epoch"] = stepsPerEpoch;
        var configJson = config.ToJson();

        int startEpoch = 0;
        long globalStep = 0, optimizerSteps = 0;
        double trainSeconds = 0;
        string? lastGood = null;
        bool evaluates = recipe.EvalPeriod > 0;
        string evalPath = Path.Combine(run.OutputDir, EvalLog.CsvFileName);
        var evals = new List<EpochEval>();
        if (run.Resume is { } resume)
        {
            var info = CheckpointStore.Load(resume, model, optimizer, recipe.ModelName);
            startEpoch = info.Epoch + 1;
            globalStep = info.GlobalStep;
            optimizerSteps = info.OptimizerSteps;
            trainSeconds = info.TrainSeconds;
            lastGood = Path.GetFullPath(resume);
            CheckResume(resume, info, stepsPerEpoch, run);
            if (evaluates && File.Exists(evalPath)) evals.AddRange(EvalLog.Read(evalPath).Where(e => e.Epoch < startEpoch));
        }
        else
        {
            torch.random.manual_seed(run.Seed);
        }

        Directory.CreateDirectory(run.OutputDir);
        AtomicFile.Write(Path.Combine(run.OutputDir, RunConfig.FileName), s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(configJson.ToJsonString(RunConfig.Json));
        });
        if (evaluates) EvalLog.Write(evalPath, evals);

        using var log = new TrainingLog(run.OutputDir, globalStep, run.TensorBoard, console);
        var evalBoard = evaluates && run.TensorBoard ? torch.utils.tensorboard.SummaryWriter(Path.Combine(run.OutputDir, "tensorboard", "eval")) : null;
        if (run.Resume is not null) log.Message($"{name}: resumed from {lastGood} at epoch {startEpoch + 1}, iteration {globalStep}");
        long totalSteps = (long)run.Epochs * stepsPerEpoch;
        var clock = Stopwatch.StartNew();
        long stepsThisRun = 0;
        float lastLoss = float.NaN;
        double lastEpochMean = double.NaN;
        EvalResult? finalEval = null;

        log.Run(globalStep, totalSteps, () =>
        {
            for (int epoch = startEpoch; epoch < run.Epochs; epoch++)
            {
                model.train();
                optimizer.zero_grad();
                double lossSum = 0, lr = 0;
                int step = 0;
                var epochClock = Stopwatch.StartNew();
                using (var batches = recipe.Batches(epoch, cancel).GetEnumerator())
                {
                    while (true)
                    {
                        cancel.ThrowIfCancellationRequested();
                        var stepClock = Stopwatch.StartNew();
                        // The data source owns whatever it keeps between batches, so MoveNext runs outside the
                        // step's scope; the batch itself is disposed at the end of the step.
                        if (!batches.MoveNext()) break;
                        if (step >= stepsPerEpoch)
                            throw new InvalidOperationException($"{name}: the data yielded more than its {stepsPerEpoch} batches in epoch {epoch}");
                        using var batch = batches.Current;

                        // per-iteration (not per-epoch) lr schedule, set every accum_iter iterations
                        double epochFraction = LrSchedule.FractionalEpoch(epoch, step, stepsPerEpoch);
                        if (step % run.AccumIter == 0)
                            lr = Schedule.Apply(optimizer, epochFraction, recipe.LrScales);

                        bool update = (step + 1) % run.AccumIter == 0;
                        int e = epoch, s = step;
                        float loss = NoGcDuringTorch.Run(() => Step(recipe, batch, e, s, update));
                        if (!float.IsFinite(loss))
                            throw new NonFiniteLossException(loss, epoch, globalStep, lr, lastGood);
                        if (update) optimizerSteps++;

                        stepClock.Stop();
                        lossSum += loss;
                        lastLoss = loss;
                        log.Step(new StepMetrics(globalStep, epoch, epochFraction, loss, lr,
                            run.BatchSize / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9), clock.Elapsed.TotalSeconds),
                            run.Epochs, stepsPerEpoch, update);
                        step++;
                        globalStep++;
                        stepsThisRun++;
                    }
                }
                if (step != stepsPerEpoch)
                    throw new InvalidOperationException($"{name}: the data yielded {step} batches in epoch {epoch}, but promised {stepsPerEpoch}");
                trainSeconds += epochClock.Elapsed.TotalSeconds;
                lastEpochMean = lossSum / step;

                bool final = epoch + 1 == run.Epochs;
                if (evaluates && ((epoch + 1) % recipe.EvalPeriod == 0 || final))
                {
                    var result = recipe.Evaluate(cancel);   // its batches run in NoGcDuringTorch one by one (ClassifierEvaluation)
                    finalEval = result;
                    evals.Add(new EpochEval(epoch, result.Top1, result.Top5, result.Loss, lastEpochMean, trainSeconds));
                    EvalLog.Append(evalPath, evals[^1]);
                    if (evalBoard is not null)
                    {
                        evalBoard.add_scalar("perf/test_acc1", (float)result.Top1, epoch);
                        evalBoard.add_scalar("perf/test_acc5", (float)result.Top5, epoch);
                        evalBoard.add_scalar("perf/test_loss", (float)result.Loss, epoch);
                    }
                    log.Message(string.Create(CultureInfo.InvariantCulture,
                        $"{name} epoch {epoch + 1}/{run.Epochs}: accuracy of the network on the {result.Samples} test images: top-1 {result.Top1:F2}% top-5 {result.Top5:F2}% (max {evals.Max(x => x.Top1):F2}%)"));
                }

                bool keep = Store.IsPeriodic(epoch, run.Epochs);
                log.Flush();
                var info = new CheckpointInfo(recipe.ModelName, epoch, globalStep, optimizerSteps, configJson, TorchRngState()) { TrainSeconds = trainSeconds };
                lastGood = Store.Save(model, optimizer, info, keep);   // in NoGcDuringTorch, as every step
                log.Message(string.Create(CultureInfo.InvariantCulture, $"{name} epoch {epoch + 1}/{run.Epochs}: mean loss {lastEpochMean:F4}; checkpoint {lastGood}"));
                CheckpointWritten?.Invoke(new CheckpointWritten(epoch, globalStep, lastGood, keep, final, model, log.History));
                model.train();
            }
            return 0;
        }, name);

        clock.Stop();
        return new TrainingResult(run.Epochs, globalStep, lastLoss, lastEpochMean, lastGood!, clock.Elapsed,
            stepsThisRun * run.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), trainSeconds, evals, finalEval);
    }

    /// <summary>
    /// One iteration: the recipe's loss, then (loss / accum_iter).backward() and, when <paramref name="update"/>, clipping,
    /// the optimizer step and zero_grad. Returns the batch's loss; a non-finite loss returns before backward, leaving the
    /// weights untouched.
    /// </summary>
    float Step<TBatch>(TrainingRecipe<TBatch> recipe, TBatch batch, int epoch, int step, bool update) where TBatch : IDisposable
    {
        using var scope = torch.NewDisposeScope();
        var loss = recipe.Loss(batch, epoch, step);
        float value = loss.item<float>();
        if (!float.IsFinite(value)) return value;
        (loss / Run.AccumIter).backward();
        if (update)
        {
            if (Run.ClipGrad is { } maxNorm) nn.utils.clip_grad_norm_(recipe.TrainableParameters, maxNorm);
            recipe.Optimizer.step();
            recipe.Optimizer.zero_grad();
        }
        return value;
    }

    /// <summary>The resume checks, in one place: an epoch boundary of this data, and the seed, batch and accum of this run.</summary>
    static void CheckResume(string path, CheckpointInfo info, int stepsPerEpoch, RunOptions run)
    {
        int startEpoch = info.Epoch + 1;
        if (info.GlobalStep != (long)startEpoch * stepsPerEpoch)
            throw new InvalidDataException($"{path}: written after {info.GlobalStep} iterations in {startEpoch} epochs, but this run has {stepsPerEpoch} iterations per epoch (did --batch or the dataset change?)");
        var saved = RunConfig.Parse(info.Config, path).Run;
        if (saved.Seed != run.Seed || saved.BatchSize != run.BatchSize || saved.AccumIter != run.AccumIter)
            throw new InvalidDataException($"{path}: written with --seed {saved.Seed} --batch {saved.BatchSize} --accum {saved.AccumIter}; this run has --seed {run.Seed} --batch {run.BatchSize} --accum {run.AccumIter}: resume with the same values");
        if (startEpoch >= run.Epochs)
            throw new ArgumentException($"{path} already completed epoch {startEpoch} of {run.Epochs}: raise --epochs to train further");
    }

    static byte[] TorchRngState()
    {
        using var state = torch.random.get_rng_state();
        return state.data<byte>().ToArray();
    }
}

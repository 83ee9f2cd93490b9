// TrainingLoop: the one training loop of every recipe (the official engine_pretrain/engine_finetune train_one_epoch
// with util/misc.py's resume, checkpoints and logging).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
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
/// <item>the model's number format (<see cref="RunOptions.Precision"/>, fp32 or bf16 matmuls), set on the model before anything runs;</item>
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

    /// <summary>Called after each iteration with its metrics (e.g. to stop a run at a given step).</summary>
    public event Action<StepMetrics>? StepCompleted;

    /// <summary>Data and runner inputs recorded in config.json's "inputs" besides the recipe's (e.g. the dataset's root, the crop
    /// scale of the pre-training transform); each changes the trajectory and is checked on resume (<see cref="OptionClasses"/>).</summary>
    public JsonObject Inputs { get; } = new();

    /// <summary>Values the runner computed for this run, recorded in config.json's "derived" (never read back as inputs, never
    /// compared on resume), e.g. why <c>--precision auto</c> chose the run's precision.</summary>
    public JsonObject Derived { get; } = new();

    /// <summary>The environment variable of the test-only fault hook: after iteration N (global, 1-based count of iterations
    /// done) and any checkpoint due there, the process kills itself with SIGKILL.</summary>
    public const string KillAtStepVariable = "MAEDSL_TEST_KILL_AT_STEP";

    /// <summary>history.jsonl: one line per start, resume (with the options changed) and stop of the run.</summary>
    public const string HistoryFileName = "history.jsonl";

    /// <summary>Runs <paramref name="recipe"/>'s epochs from the start or from a checkpoint (also one written inside an epoch).</summary>
    /// <param name="console">Where plain progress lines go; null: stdout, with a progress bar on a terminal.</param>
    /// <param name="cancel">Stops the run after the current iteration (with accumulation: at the next optimizer step), writes a
    /// mid-epoch checkpoint and throws <see cref="RunStoppedException"/> naming it.</param>
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
        MaeDsl.Model.MixedPrecision.Apply(model, run.Precision);   // the model's matmuls, also in the recipe's evaluation

        var inputs = recipe.Inputs;
        foreach (var (k, v) in Inputs) inputs[k] = v?.DeepClone();
        var config = RunConfig.For(recipe.Kind, recipe.ModelName, run, recipe.Options, recipe.Spec, recipe.Derived, inputs);
        config.Derived["steps_per_epoch"] = stepsPerEpoch;
        foreach (var (k, v) in Derived) config.Derived[k] = v?.DeepClone();
        var configJson = config.ToJson();

        int startEpoch = 0, startStep = 0;
        double startLossSum = 0;
        long globalStep = 0, optimizerSteps = 0, skipped = 0;
        double trainSeconds = 0;
        string? lastGood = null;
        bool evaluates = recipe.EvalPeriod > 0;
        string evalPath = Path.Combine(run.OutputDir, EvalLog.CsvFileName);
        var evals = new List<EpochEval>();
        IReadOnlyList<OptionChange> changes = [];
        if (run.Resume is { } resume)
        {
            var header = CheckpointStore.ReadInfo(resume);
            if (header.ModelName != recipe.ModelName)
                throw new InvalidDataException($"{resume}: the checkpoint holds a {header.ModelName}, but the run's model is {recipe.ModelName}");
            changes = CheckResume(resume, header, config, recipe.Options.GetType(), stepsPerEpoch, run);
            var info = CheckpointStore.Load(resume, model, optimizer, recipe.ModelName);
            startEpoch = info.Epoch + 1;
            startStep = info.StepInEpoch;
            startLossSum = info.EpochLossSum;
            globalStep = info.GlobalStep;
            optimizerSteps = info.OptimizerSteps;
            skipped = info.SkippedSteps;
            trainSeconds = info.TrainSeconds;
            lastGood = Path.GetFullPath(resume);
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
        AppendHistory(run.OutputDir, run.Resume is null
            ? new JsonObject { ["event"] = "start" }
            : new JsonObject
            {
                ["event"] = "resume", ["from"] = lastGood, ["epoch"] = startEpoch, ["step_in_epoch"] = startStep, ["global_step"] = globalStep,
                ["changes"] = new JsonArray(changes.Select(c => (JsonNode)new JsonObject { ["option"] = "--" + c.Name, ["checkpoint"] = c.Checkpoint, ["this_run"] = c.ThisRun }).ToArray()),
            });
        if (evaluates) EvalLog.Write(evalPath, evals);

        using var log = new TrainingLog(run.OutputDir, globalStep, run.TensorBoard, console);
        var evalBoard = evaluates && run.TensorBoard ? torch.utils.tensorboard.SummaryWriter(Path.Combine(run.OutputDir, "tensorboard", "eval")) : null;
        if (run.Resume is not null)
            log.Message($"{name}: resumed from {lastGood} at epoch {startEpoch + 1}, iteration {globalStep}" + (startStep > 0 ? $" ({startStep} of the epoch's {stepsPerEpoch} done)" : ""));
        foreach (var c in changes) log.Message($"{name}: changed on resume: {c}");
        long totalSteps = (long)run.Epochs * stepsPerEpoch;
        var clock = Stopwatch.StartNew();
        long stepsThisRun = 0;
        float lastLoss = float.NaN;
        double lastEpochMean = double.NaN;
        EvalResult? finalEval = null;
        long nextStepCheckpoint = run.CheckpointEverySteps > 0 ? (globalStep / run.CheckpointEverySteps + 1) * run.CheckpointEverySteps : long.MaxValue;
        long killAt = long.TryParse(Environment.GetEnvironmentVariable(KillAtStepVariable), out var killStep) ? killStep : -1;

        log.Run(globalStep, totalSteps, () =>
        {
            for (int epoch = startEpoch; epoch < run.Epochs; epoch++)
            {
                model.train();
                optimizer.zero_grad();
                bool resumedEpoch = epoch == startEpoch;
                double lossSum = resumedEpoch ? startLossSum : 0, lr = 0;
                int step = resumedEpoch ? startStep : 0;
                int counted = step;
                var epochClock = Stopwatch.StartNew();

                // Writes checkpoint-last inside the epoch (at an optimizer-step boundary: no accumulated gradient is lost).
                string SaveMidEpoch(int e, int stepInEpoch)
                {
                    log.Flush();
                    var info = new CheckpointInfo(recipe.ModelName, e - 1, globalStep, optimizerSteps, configJson, TorchRngState())
                    {
                        TrainSeconds = trainSeconds + epochClock.Elapsed.TotalSeconds, StepInEpoch = stepInEpoch, EpochLossSum = lossSum, SkippedSteps = skipped,
                    };
                    lastGood = Store.Save(model, optimizer, info, keep: false);
                    return lastGood;
                }
                void Stop(int e, int stepInEpoch)
                {
                    string path = stepInEpoch > 0 ? SaveMidEpoch(e, stepInEpoch) : lastGood!;
                    AppendHistory(run.OutputDir, new JsonObject { ["event"] = "stopped", ["checkpoint"] = path, ["global_step"] = globalStep });
                    log.Message($"{name}: stopped at iteration {globalStep} (epoch {e + 1}, {stepInEpoch} of {stepsPerEpoch} iterations); checkpoint {path}");
                    throw new RunStoppedException(path, e, stepInEpoch, globalStep, cancel);
                }

                if (cancel.IsCancellationRequested)
                {
                    if (lastGood is null) cancel.ThrowIfCancellationRequested();   // nothing done yet: nothing to keep
                    Stop(epoch, step);
                }
                if (step < stepsPerEpoch)
                {
                    // The loader is deterministic in (seed, epoch): a mid-epoch resume skips the batches already trained on.
                    // Cancellation is the loop's business (between steps), never the loader's.
                    using var batches = recipe.Batches(epoch, step, CancellationToken.None).GetEnumerator();
                    while (true)
                    {
                        var stepClock = Stopwatch.StartNew();
                        // The data source owns whatever it keeps between batches, so MoveNext runs outside the
                        // step's scope; the batch itself is disposed at the end of the step.
                        if (!batches.MoveNext()) break;
                        if (step >= stepsPerEpoch)
                            throw new InvalidOperationException($"{name}: the data yielded more than its {stepsPerEpoch} batches in epoch {epoch}");
                        using (var batch = batches.Current)
                        {
                            // per-iteration (not per-epoch) lr schedule, set every accum_iter iterations
                            double epochFraction = LrSchedule.FractionalEpoch(epoch, step, stepsPerEpoch);
                            if (step % run.AccumIter == 0)
                                lr = Schedule.Apply(optimizer, epochFraction, recipe.LrScales);

                            bool update = (step + 1) % run.AccumIter == 0;
                            int e = epoch, s = step;
                            float loss = NoGcDuringTorch.Run(() => Step(recipe, batch, e, s, update));
                            if (!float.IsFinite(loss))
                            {
                                if (!run.SkipNonFinite) throw new NonFiniteLossException(loss, epoch, globalStep, lr, lastGood);
                                skipped++;
                                log.Message(FormattableString.Invariant($"{name}: skipped iteration {globalStep} (epoch {epoch + 1}): loss is {loss}; {skipped} skipped so far (--skip-nonfinite)"));
                            }
                            else
                            {
                                lossSum += loss;
                                counted++;
                            }
                            if (update) optimizerSteps++;

                            stepClock.Stop();
                            lastLoss = loss;
                            var metrics = new StepMetrics(globalStep, epoch, epochFraction, loss, lr,
                                run.BatchSize / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9), clock.Elapsed.TotalSeconds);
                            log.Step(metrics, run.Epochs, stepsPerEpoch, update);
                            StepCompleted?.Invoke(metrics);
                        }
                        step++;
                        globalStep++;
                        stepsThisRun++;
                        if (step < stepsPerEpoch && step % run.AccumIter == 0)
                        {
                            if (run.CheckpointEverySteps > 0 && globalStep >= nextStepCheckpoint)
                            {
                                nextStepCheckpoint = (globalStep / run.CheckpointEverySteps + 1) * run.CheckpointEverySteps;
                                string path = SaveMidEpoch(epoch, step);
                                log.Message($"{name}: iteration {globalStep}: checkpoint {path}");
                            }
                            if (cancel.IsCancellationRequested) Stop(epoch, step);
                        }
                        if (globalStep == killAt) { log.Flush(); KillSelf(); }
                    }
                    if (step != stepsPerEpoch)
                        throw new InvalidOperationException($"{name}: the data yielded {step} batches in epoch {epoch}, but promised {stepsPerEpoch}");
                }
                trainSeconds += epochClock.Elapsed.TotalSeconds;
                lastEpochMean = lossSum / Math.Max(counted, 1);

                bool final = epoch + 1 == run.Epochs;
                if (evaluates && ((epoch + 1) % recipe.EvalPeriod == 0 || final))
                {
                    EvalResult result;
                    try { result = recipe.Evaluate(cancel); }   // its batches run in NoGcDuringTorch one by one (ClassifierEvaluation)
                    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                    {
                        trainSeconds -= epochClock.Elapsed.TotalSeconds;
                        Stop(epoch, stepsPerEpoch);   // the epoch's iterations are done; the resume evaluates and closes it
                        throw;
                    }
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
                var epochInfo = new CheckpointInfo(recipe.ModelName, epoch, globalStep, optimizerSteps, configJson, TorchRngState()) { TrainSeconds = trainSeconds, SkippedSteps = skipped };
                lastGood = Store.Save(model, optimizer, epochInfo, keep);   // in NoGcDuringTorch, as every step
                log.Message(string.Create(CultureInfo.InvariantCulture, $"{name} epoch {epoch + 1}/{run.Epochs}: mean loss {lastEpochMean:F4}; checkpoint {lastGood}")
                    + (skipped > 0 ? $"; {skipped} iterations skipped for a non-finite loss so far" : ""));
                CheckpointWritten?.Invoke(new CheckpointWritten(epoch, globalStep, lastGood, keep, final, model, log.History));
                model.train();
            }
            return 0;
        }, name);

        clock.Stop();
        return new TrainingResult(run.Epochs, globalStep, lastLoss, lastEpochMean, lastGood!, clock.Elapsed,
            stepsThisRun * run.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), trainSeconds, evals, finalEval) { SkippedSteps = skipped };
    }

    static void KillSelf()
    {
        Console.Out.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();   // SIGKILL on Unix: no finally block, no flush, as kill -9
        Thread.Sleep(Timeout.Infinite);
    }

    static void AppendHistory(string outputDir, JsonObject entry)
    {
        var line = new JsonObject { ["utc"] = DateTime.UtcNow.ToString("O") };
        foreach (var (k, v) in entry) line[k] = v?.DeepClone();
        File.AppendAllText(Path.Combine(outputDir, HistoryFileName), line.ToJsonString() + "\n");
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
        if (!float.IsFinite(value))
        {
            // --skip-nonfinite: the iteration's gradients never exist; an optimizer step due here drops the accumulation
            if (Run.SkipNonFinite && update) recipe.Optimizer.zero_grad();
            return value;
        }
        (loss / Run.AccumIter).backward();
        if (update)
        {
            if (Run.ClipGrad is { } maxNorm) nn.utils.clip_grad_norm_(recipe.TrainableParameters, maxNorm);
            recipe.Optimizer.step();
            recipe.Optimizer.zero_grad();
        }
        return value;
    }

    /// <summary>
    /// The resume checks, in one place: the trajectory options of this run against the checkpoint's configuration (refused,
    /// with every difference, unless --allow-change names it; --epochs may be raised), then the position of the checkpoint in
    /// this run's epochs. Returns the changes allowed (recorded in history.jsonl).
    /// </summary>
    static IReadOnlyList<OptionChange> CheckResume(string path, CheckpointInfo info, RunConfig config, Type optionsType, int stepsPerEpoch, RunOptions run)
    {
        var saved = RunConfig.Parse(info.Config, path);
        var changes = OptionClasses.Compare(saved, config, optionsType);
        var allowed = run.AllowChange is null ? [] : OptionClasses.SplitAllowChange(run.AllowChange).ToHashSet();
        bool Allowed(OptionChange c) => allowed.Contains(c.Name.Split(' ')[0])
            || (c.Class == OptionClass.Epochs && run.Epochs > saved.Run.Epochs);
        var refused = changes.Where(c => !Allowed(c)).ToList();
        if (refused.Count > 0)
        {
            string names = string.Join(",", refused.Select(c => c.Name.Split(' ')[0]).Distinct());
            throw new InvalidDataException($"{path}: this run differs from the checkpoint in what it trains: {string.Join("; ", refused)}. " +
                $"Resume with the checkpoint's values, or pass --allow-change {names} to change them deliberately (recorded in {HistoryFileName})");
        }

        int startEpoch = info.Epoch + 1;
        long expected = (long)startEpoch * stepsPerEpoch + info.StepInEpoch;
        if (info.GlobalStep != expected || info.StepInEpoch > stepsPerEpoch)
        {
            bool dataChangeAllowed = changes.Any(c => c.Name.Split(' ')[0] is "batch" or "train-limit" or "dataset" && allowed.Contains(c.Name.Split(' ')[0]));
            if (!(dataChangeAllowed && !info.MidEpoch))
            {
                long savedSteps = saved.DerivedNumber("steps_per_epoch") is { } d ? (long)d
                    : info.StepInEpoch == 0 && startEpoch > 0 ? info.GlobalStep / startEpoch : -1;
                string Images(RunConfig c) => (c.Inputs[OptionClasses.InputKeys.TrainImages] ?? c.Derived["train_images"])?.ToJsonString() ?? "?";
                throw new InvalidDataException(
                    $"{path}: the checkpoint's epochs have {(savedSteps < 0 ? "?" : savedSteps.ToString(CultureInfo.InvariantCulture))} iterations (--batch {saved.Run.BatchSize}, {Images(saved)} training images), " +
                    $"this run's have {stepsPerEpoch} (--batch {run.BatchSize}, {Images(config)} training images): " +
                    (info.MidEpoch ? "a checkpoint written inside an epoch resumes only with the same batch size and data" : "resume with the same batch size and data"));
            }
        }
        if (startEpoch >= run.Epochs)
            throw new ArgumentException($"{path} already completed epoch {startEpoch} of {run.Epochs}: raise --epochs to train further");
        return changes.Where(Allowed).ToList();
    }

    static byte[] TorchRngState()
    {
        using var state = torch.random.get_rng_state();
        return state.data<byte>().ToArray();
    }
}

// EpochRunner: one epoch of any recipe, as the official engine_pretrain.py / engine_finetune.py's train_one_epoch.
using System.Diagnostics;
using System.Text.Json.Nodes;
using MaeDsl.Native;
using MaeDsl.Training.Optimization;
using TorchSharp;

namespace MaeDsl.Training.Loop;

/// <summary>
/// train_one_epoch: per iteration the lr of the schedule at the fractional epoch (every accum_iter iterations), the recipe's
/// loss, (loss / accum_iter).backward(), and every accum_iter iterations clipping, the optimizer step and zero_grad; the
/// non-finite stop; metrics; between optimizer steps the mid-epoch checkpoint and cancellation. The epoch's loss sum and
/// the counters live in <see cref="RunProgress"/> and here, so that a stop can write them into a checkpoint at any step.
/// </summary>
internal sealed class EpochRunner<TBatch>(TrainingLoop loop, TrainingRecipe<TBatch> recipe, RunOptions run, RunProgress progress,
    JsonObject configJson, TrainingLog log, CancellationToken cancel, Stopwatch clock) where TBatch : IDisposable
{
    readonly FaultHooks faults = FaultHooks.FromEnvironment();
    long nextStepCheckpoint = run.CheckpointEverySteps > 0
        ? (progress.GlobalStep / run.CheckpointEverySteps + 1) * run.CheckpointEverySteps : long.MaxValue;
    double lossSum;

    public float LastLoss { get; private set; } = float.NaN;
    public double LastEpochMean { get; private set; } = double.NaN;
    public long StepsThisRun { get; private set; }

    /// <summary>Trains <paramref name="epoch"/> (the rest of it, for the epoch a resume starts inside); returns its mean loss.</summary>
    public double TrainOneEpoch(int epoch, Stopwatch epochClock)
    {
        int steps = recipe.StepsPerEpoch;
        recipe.Model.train();
        recipe.Optimizer.zero_grad();
        bool resumedEpoch = epoch == progress.StartEpoch;
        lossSum = resumedEpoch ? progress.StartLossSum : 0;
        int step = resumedEpoch ? progress.StartStep : 0, counted = step;
        double lr = 0;

        if (StepsThisRun == 0) faults.BeforeFirstStep(cancel);
        if (StopRequested())
        {
            if (progress.LastCheckpoint is null) throw new OperationCanceledException(cancel);   // nothing done yet: nothing to keep
            Stop(epoch, step, epochClock);
        }
        if (step < steps)
        {
            // The loader is deterministic in (seed, epoch): a mid-epoch resume skips the batches already trained on. Cancellation
            // is the loop's business (between steps), never the loader's. MoveNext runs outside the step's scope: the data source
            // owns what it keeps between batches; the batch itself is disposed after its step.
            using var batches = recipe.Batches(epoch, step, CancellationToken.None).GetEnumerator();
            while (batches.MoveNext())
            {
                if (step >= steps) throw new InvalidOperationException(
                    $"{recipe.DisplayName}: the data yielded more than its {steps} batches in epoch {epoch}");
                var stepClock = Stopwatch.StartNew();
                using (var batch = batches.Current)
                {
                    double epochFraction = LrSchedule.FractionalEpoch(epoch, step, steps);
                    if (step % run.AccumIter == 0) lr = loop.Schedule.Apply(recipe.Optimizer, epochFraction, recipe.LrScales);
                    bool update = (step + 1) % run.AccumIter == 0;
                    int e = epoch, s = step;
                    float loss = NoGcDuringTorch.Run(() => Step(batch, e, s, update));
                    if (float.IsFinite(loss)) { lossSum += loss; counted++; }
                    else SkipOrStop(loss, epoch, lr);
                    if (update) progress.OptimizerSteps++;

                    LastLoss = loss;
                    var metrics = new StepMetrics(progress.GlobalStep, epoch, epochFraction, loss, lr,
                        run.BatchSize * run.Ranks / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9), clock.Elapsed.TotalSeconds);
                    log.Step(metrics, run.Epochs, steps, update);
                    loop.OnStepCompleted(metrics);
                }
                step++;
                progress.GlobalStep++;
                StepsThisRun++;
                if (step < steps && step % run.AccumIter == 0) BetweenOptimizerSteps(epoch, step, epochClock);
                faults.AfterIteration(progress.GlobalStep, log.Flush);
            }
            if (step != steps)
                throw new InvalidOperationException($"{recipe.DisplayName}: the data yielded {step} batches in epoch {epoch}, but promised {steps}");
        }
        LastEpochMean = lossSum / Math.Max(counted, 1);
        return LastEpochMean;
    }

    /// <summary>
    /// One iteration: the recipe's loss, then (loss / accum_iter).backward() and, when <paramref name="update"/>, clipping,
    /// the optimizer step and zero_grad. Returns the batch's loss; a non-finite loss returns before backward, leaving the
    /// weights untouched.
    /// </summary>
    float Step(TBatch batch, int epoch, int step, bool update)
    {
        using var scope = torch.NewDisposeScope();
        var loss = recipe.Loss(batch, epoch, step);
        float value = loss.item<float>();
        if (loop.Group.Size > 1) value = (float)loop.Group.Average(value);   // the loss of the global batch: every rank stops or skips alike
        if (!float.IsFinite(value))
        {
            // --skip-nonfinite: the iteration's gradients never exist; an optimizer step due here drops the accumulation
            if (run.SkipNonFinite && update) recipe.Optimizer.zero_grad();
            return value;
        }
        (loss / run.AccumIter).backward();
        if (update)
        {
            loop.Group.AverageGradients(recipe.TrainableParameters);   // DDP: the mean gradient of the ranks (one process: nothing)
            if (run.ClipGrad is { } maxNorm) torch.nn.utils.clip_grad_norm_(recipe.TrainableParameters, maxNorm);
            recipe.Optimizer.step();
            recipe.Optimizer.zero_grad();
        }
        return value;
    }

    /// <summary>A non-finite loss: the run stops naming the last good checkpoint, or with --skip-nonfinite the iteration is counted and skipped.</summary>
    void SkipOrStop(float loss, int epoch, double lr)
    {
        if (!run.SkipNonFinite) throw new NonFiniteLossException(loss, epoch, progress.GlobalStep, lr, progress.LastCheckpoint);
        progress.SkippedSteps++;
        log.Message(FormattableString.Invariant($"{recipe.DisplayName}: skipped iteration {progress.GlobalStep} (epoch {epoch + 1}): loss is {loss}; ") +
            FormattableString.Invariant($"{progress.SkippedSteps} skipped so far (--skip-nonfinite)"));
    }

    /// <summary>At an optimizer-step boundary inside the epoch: the checkpoint every --checkpoint-every-steps, then cancellation.</summary>
    void BetweenOptimizerSteps(int epoch, int step, Stopwatch epochClock)
    {
        if (progress.GlobalStep >= nextStepCheckpoint)
        {
            nextStepCheckpoint = (progress.GlobalStep / run.CheckpointEverySteps + 1) * run.CheckpointEverySteps;
            log.Message($"{recipe.DisplayName}: iteration {progress.GlobalStep}: checkpoint {SaveMidEpoch(epoch, step, epochClock)}");
        }
        if (StopRequested()) Stop(epoch, step, epochClock);
    }

    /// <summary>Cancellation, agreed by every rank at the same iteration (one rank's Ctrl-C or SIGTERM stops them all there).</summary>
    bool StopRequested() => loop.Group.Size == 1 ? cancel.IsCancellationRequested : loop.Group.AnyRank(cancel.IsCancellationRequested);

    /// <summary>Writes checkpoint-last inside the epoch (at an optimizer-step boundary: no accumulated gradient is lost).</summary>
    string SaveMidEpoch(int epoch, int stepInEpoch, Stopwatch epochClock)
    {
        if (!loop.Group.IsMain) return progress.LastCheckpoint = loop.Store.LastPath;   // rank 0 writes it
        log.Flush();
        var info = progress.ToCheckpoint(recipe.ModelName, epoch - 1, configJson, TrainingLoop.TorchRngState(), stepInEpoch, lossSum,
            epochClock.Elapsed.TotalSeconds);
        progress.LastCheckpoint = loop.Store.Save(recipe.Model, recipe.Optimizer, info, keep: false);
        return progress.LastCheckpoint;
    }

    /// <summary>Stops the run at <paramref name="stepInEpoch"/> of <paramref name="epoch"/>: a checkpoint there (or the last one at an
    /// epoch boundary), history.jsonl's stop, and <see cref="RunStoppedException"/> naming the checkpoint.</summary>
    public void Stop(int epoch, int stepInEpoch, Stopwatch epochClock)
    {
        string path = stepInEpoch > 0 ? SaveMidEpoch(epoch, stepInEpoch, epochClock) : progress.LastCheckpoint!;
        if (loop.Group.IsMain) RunHistory.Stopped(run.OutputDir, path, progress.GlobalStep);
        log.Message($"{recipe.DisplayName}: stopped at iteration {progress.GlobalStep} (epoch {epoch + 1}, {stepInEpoch} of {recipe.StepsPerEpoch} " +
            $"iterations); checkpoint {path}");
        throw new RunStoppedException(path, epoch, stepInEpoch, progress.GlobalStep, cancel);
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;
using MaeDsl.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training;

/// <summary>
/// Pre-training images, one epoch at a time. <see cref="Batches"/> must yield exactly
/// <see cref="StepsPerEpoch"/> batches of [B, C, H, W] float images (drop_last, as the official loader),
/// in an order and with augmentations that depend only on (seed, epoch), so that a resumed run sees what
/// the uninterrupted one would have.
/// </summary>
public interface IPretrainBatches
{
    int StepsPerEpoch { get; }
    IEnumerable<Tensor> Batches(int epoch);
}

/// <summary>What a finished (or resumed-and-finished) run reports.</summary>
public sealed record PretrainResult(int Epochs, long Steps, float LastLoss, double MeanLossLastEpoch, string LastCheckpoint, TimeSpan Elapsed, double ImagesPerSecond);

/// <summary>Raised after a checkpoint is written (pictures are drawn from here).</summary>
public sealed record CheckpointWritten(int Epoch, long GlobalStep, string Path, bool Kept, bool Final, MaskedAutoencoder Model, IReadOnlyList<StepMetrics> History);

/// <summary>
/// The official pre-training loop (engine_pretrain.train_one_epoch + main_pretrain.main) for any
/// <see cref="MaskedAutoencoder"/>: per-iteration lr schedule (set every accum_iter iterations at the
/// fractional epoch), loss / accum_iter with an optimizer step every accum_iter iterations and zeroed
/// gradients at every epoch start, a non-finite loss stops the run, checkpoints are written atomically
/// after every epoch (a numbered one every N epochs and at the end). One DisposeScope per iteration.
/// The masking noise of iteration (epoch, step) is drawn from a generator seeded by (seed, epoch, step),
/// so a resumed run is bit-for-bit the uninterrupted one on CPU.
/// </summary>
public sealed class Pretrainer : IDisposable
{
    public Pretrainer(MaskedAutoencoder model, PretrainOptions options)
    {
        options.Validate();
        Model = model;
        Options = options;
        Schedule = options.Schedule();
        Optimizer = WeightDecay.CreateOptimizer(model, Schedule.PeakLr, options.WeightDecay, options.Beta1, options.Beta2);
        Store = new CheckpointStore(options.CheckpointDir, options.CheckpointEveryEpochs);
    }

    public MaskedAutoencoder Model { get; }
    public PretrainOptions Options { get; }
    public LrSchedule Schedule { get; }
    public AdamW Optimizer { get; }
    public CheckpointStore Store { get; }

    /// <summary>Called after each checkpoint (e.g. to draw the reconstruction grid and the loss curve).</summary>
    public event Action<CheckpointWritten>? CheckpointWritten;

    /// <summary>The seed of the masking-noise generator of one iteration, derived from (seed, epoch, step).</summary>
    public static long MaskingSeed(long seed, int epoch, int step) => Data.Seeds.Derive(seed, Data.Seeds.Streams.MaskNoise, epoch, step);

    /// <summary>Trains from scratch, or from <paramref name="resumeFrom"/> (a checkpoint of this model and recipe).</summary>
    /// <param name="data">The training images, StepsPerEpoch full batches per epoch.</param>
    /// <param name="resumeFrom">A .ckpt written by a run of the same model, seed, batch and accum; null starts afresh.</param>
    /// <param name="console">Where plain progress lines go; null: stdout, with a progress bar on a terminal.</param>
    /// <param name="cancel">Stops the run between two iterations (the last checkpoint stays the resume point).</param>
    public PretrainResult Run(IPretrainBatches data, string? resumeFrom = null, TextWriter? console = null, CancellationToken cancel = default)
    {
        int stepsPerEpoch = data.StepsPerEpoch;
        if (stepsPerEpoch < 1)
            throw new ArgumentException($"the data yields {stepsPerEpoch} batches per epoch; pre-training needs at least one full batch of {Options.BatchSize}", nameof(data));
        string modelName = Model.GetName();

        int startEpoch = 0;
        long globalStep = 0, optimizerSteps = 0;
        string? lastGood = null;
        if (resumeFrom is not null)
        {
            var info = CheckpointStore.Load(resumeFrom, Model, Optimizer, modelName);
            startEpoch = info.Epoch + 1;
            globalStep = info.GlobalStep;
            optimizerSteps = info.OptimizerSteps;
            lastGood = Path.GetFullPath(resumeFrom);
            if (globalStep != (long)startEpoch * stepsPerEpoch)
                throw new InvalidDataException($"{resumeFrom}: written after {globalStep} iterations in {startEpoch} epochs, but this run has {stepsPerEpoch} iterations per epoch (did the batch size or the dataset change?)");
            var saved = PretrainOptions.FromJson(info.Config);
            if (saved.Seed != Options.Seed || saved.BatchSize != Options.BatchSize || saved.AccumIter != Options.AccumIter)
                throw new InvalidDataException($"{resumeFrom}: written with seed {saved.Seed}, batch {saved.BatchSize}, accum {saved.AccumIter}; this run has seed {Options.Seed}, batch {Options.BatchSize}, accum {Options.AccumIter}: resume with the same values");
            if (startEpoch >= Options.Epochs)
                throw new ArgumentException($"{resumeFrom} already completed epoch {info.Epoch + 1} of {Options.Epochs}: raise --epochs to train further");
        }
        else
        {
            torch.random.manual_seed(Options.Seed);
        }

        System.IO.Directory.CreateDirectory(Options.OutputDir);
        AtomicFile.Write(Path.Combine(Options.OutputDir, "config.json"), s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(RunConfig(modelName, stepsPerEpoch).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        });

        using var log = new TrainingLog(Options.OutputDir, globalStep, Options.TensorBoard, console);
        if (resumeFrom is not null) log.Message($"resumed from {lastGood} at epoch {startEpoch + 1}, iteration {globalStep}");
        long totalSteps = (long)Options.Epochs * stepsPerEpoch;
        var clock = Stopwatch.StartNew();
        long stepsThisRun = 0;
        float lastLoss = float.NaN;
        double lastEpochMean = double.NaN;

        log.Run(globalStep, totalSteps, () =>
        {
            for (int epoch = startEpoch; epoch < Options.Epochs; epoch++)
            {
                Model.train();
                Optimizer.zero_grad();
                double lossSum = 0;
                int step = 0;
                double lr = 0;
                using (var batches = data.Batches(epoch).GetEnumerator())
                {
                    while (true)
                    {
                        cancel.ThrowIfCancellationRequested();
                        var stepClock = Stopwatch.StartNew();
                        // The data source owns whatever it keeps between batches, so MoveNext runs outside the
                        // step's scope; the batch itself is disposed at the end of the step.
                        if (!batches.MoveNext()) break;
                        if (step >= stepsPerEpoch)
                            throw new InvalidOperationException($"the data yielded more than its {stepsPerEpoch} batches in epoch {epoch}");
                        using var images = batches.Current;
                        if (images.dim() != 4 || images.shape[0] != Options.BatchSize)
                            throw new InvalidOperationException($"batch {step} of epoch {epoch} is [{string.Join(", ", images.shape)}]; expected [{Options.BatchSize}, C, H, W] (batch size {Options.BatchSize}, drop_last)");

                        // per-iteration (not per-epoch) lr schedule, set every accum_iter iterations
                        double epochFraction = LrSchedule.FractionalEpoch(epoch, step, stepsPerEpoch);
                        if (step % Options.AccumIter == 0)
                            lr = Schedule.Apply(Optimizer, epochFraction);

                        bool update = (step + 1) % Options.AccumIter == 0;
                        int e = epoch, s = step;
                        float loss = GcQuiet.Run(() => TrainStep(images, e, s, update));
                        if (!float.IsFinite(loss))
                            throw new NonFiniteLossException(loss, epoch, globalStep, lr, lastGood);
                        if (update) optimizerSteps++;

                        stepClock.Stop();
                        lossSum += loss;
                        lastLoss = loss;
                        log.Step(new StepMetrics(globalStep, epoch, epochFraction, loss, lr,
                            Options.BatchSize / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9), clock.Elapsed.TotalSeconds),
                            Options.Epochs, stepsPerEpoch, update);
                        step++;
                        globalStep++;
                        stepsThisRun++;
                    }
                }
                if (step != stepsPerEpoch)
                    throw new InvalidOperationException($"the data yielded {step} batches in epoch {epoch}, but promised {stepsPerEpoch}");
                lastEpochMean = lossSum / step;

                bool final = epoch + 1 == Options.Epochs;
                bool keep = Store.IsPeriodic(epoch, Options.Epochs);
                log.Flush();
                var info = new CheckpointInfo(modelName, epoch, globalStep, optimizerSteps, RunConfig(modelName, stepsPerEpoch), TorchRngState());
                lastGood = GcQuiet.Run(() => Store.Save(Model, Optimizer, info, keep));
                log.Message(FormattableString.Invariant($"epoch {epoch + 1}/{Options.Epochs}: mean loss {lastEpochMean:F4}; checkpoint {lastGood}"));
                CheckpointWritten?.Invoke(new CheckpointWritten(epoch, globalStep, lastGood, keep, final, Model, log.History));
                Model.train();
            }
            return 0;
        });

        clock.Stop();
        return new PretrainResult(Options.Epochs, globalStep, lastLoss, lastEpochMean, lastGood!, clock.Elapsed,
            stepsThisRun * Options.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9));
    }

    /// <summary>
    /// One iteration: masking noise from (seed, epoch, step), forward, (loss / accum_iter).backward(), and the
    /// optimizer step when <paramref name="update"/>. Returns the batch's loss; a non-finite loss returns before
    /// backward, leaving the weights untouched.
    /// </summary>
    float TrainStep(Tensor images, int epoch, int step, bool update)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new torch.Generator((ulong)MaskingSeed(Options.Seed, epoch, step));
        var noise = Masking.DrawNoise(Model.Spec, images.shape[0], generator);
        using var output = Model.forward(images, noise);
        float loss = output.Loss.item<float>();
        if (!float.IsFinite(loss)) return loss;
        (output.Loss / Options.AccumIter).backward();
        if (update)
        {
            Optimizer.step();
            Optimizer.zero_grad();
        }
        return loss;
    }

    JsonObject RunConfig(string modelName, int stepsPerEpoch)
    {
        var config = Options.ToJson();
        config["model"] = modelName;
        config["steps_per_epoch"] = stepsPerEpoch;
        config["effective_batch"] = Options.EffectiveBatch;
        config["lr"] = Schedule.PeakLr;
        config["spec"] = System.Text.Json.JsonSerializer.SerializeToNode(Model.Spec);
        return config;
    }

    static byte[] TorchRngState()
    {
        using var state = torch.random.get_rng_state();
        return state.data<byte>().ToArray();
    }

    public void Dispose() => Optimizer.Dispose();
}

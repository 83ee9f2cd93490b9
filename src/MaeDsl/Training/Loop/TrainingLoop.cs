// TrainingLoop: the one training loop of every recipe (the official engine_pretrain/engine_finetune train_one_epoch
// with util/misc.py's resume, checkpoints and logging).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;
using MaeDsl.Distributed;
using MaeDsl.Evaluation;
using MaeDsl.IO;
using MaeDsl.Native;
using MaeDsl.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Training.Loop;

/// <summary>
/// The training loop every recipe runs (pre-training, fine-tuning, linear probing), as the official main_*.py scripts share
/// engine_*.py's train_one_epoch and util/misc.py. <see cref="Execute"/> reads as main_pretrain.py's loop: begin (resume
/// from a checkpoint after <see cref="ResumeCheck"/>, or <c>torch.manual_seed(seed)</c>; config.json; <see cref="RunHistory"/>),
/// then per epoch <see cref="EpochRunner{TBatch}.TrainOneEpoch"/>, the recipe's evaluation when due
/// (<see cref="EpochEvaluation"/>: eval.csv, TensorBoard, the accuracy line) and the epoch's checkpoint
/// (<see cref="CheckpointStore"/>: checkpoint-last every epoch, a numbered one with .safetensors every CheckpointPeriod epochs
/// and at the end). Where a run stands lives in <see cref="RunProgress"/>; test-only faults come in through
/// <see cref="FaultHooks"/>. Every step, evaluation batch and checkpoint save runs in <see cref="NoGcDuringTorch"/>.
/// </summary>
internal sealed class TrainingLoop
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

    internal void OnStepCompleted(StepMetrics metrics) => StepCompleted?.Invoke(metrics);

    /// <summary>
    /// The data-parallel ranks this run trains with (<see cref="ProcessGroup.Start"/> under <c>mpiexec</c>); its size must equal
    /// <see cref="RunOptions.Ranks"/>. Every rank runs the same loop on its shard of the data and averages gradients before each
    /// optimizer step; rank 0 alone writes config.json, logs, evaluations and checkpoints. Default: one process.
    /// </summary>
    public IProcessGroup Group { get; set; } = ProcessGroup.Single();

    /// <summary>This rank's part of every epoch of the training data (the whole of it in one process).</summary>
    public Data.DistributedShard Shard => new(Group.Rank, Group.Size);

    /// <summary>Data and runner inputs recorded in config.json's "inputs" besides the recipe's (e.g. the dataset's root, the crop
    /// scale of the pre-training transform); each changes the trajectory and is checked on resume (<see cref="OptionClasses"/>).</summary>
    public JsonObject Inputs { get; } = new();

    /// <summary>Values the runner computed for this run, recorded in config.json's "derived" (never read back as inputs, never
    /// compared on resume), e.g. why <c>--precision auto</c> chose the run's precision.</summary>
    public JsonObject Derived { get; } = new();

    /// <summary>Runs <paramref name="recipe"/>'s epochs from the start or from a checkpoint (also one written inside an epoch).</summary>
    /// <param name="console">Where plain progress lines go; null: stdout, with a progress bar on a terminal.</param>
    /// <param name="cancel">Stops the run after the current iteration (with accumulation: at the next optimizer step), writes a
    /// mid-epoch checkpoint and throws <see cref="RunStoppedException"/> naming it.</param>
    /// <param name="resumeFrom">The checkpoint to resume from; null: <see cref="RunOptions.Resume"/>.</param>
    public TrainingResult Execute<TBatch>(TrainingRecipe<TBatch> recipe, TextWriter? console = null, CancellationToken cancel = default,
        string? resumeFrom = null)
        where TBatch : IDisposable
    {
        var run = resumeFrom is null ? Run : Run with { Resume = resumeFrom };
        string name = recipe.DisplayName;
        if (recipe.StepsPerEpoch < 1)
            throw new ArgumentException($"{name}: the data gives no full batch of {run.BatchSize} (--batch) per epoch");
        if (Group.Size != run.Ranks)
            throw new ArgumentException($"{name}: RunOptions.Ranks is {run.Ranks} but the process group has {Group.Size} ranks");
        if (run.Threads > 0) torch.set_num_threads(run.Threads);
        MaeDsl.MixedPrecision.Apply(recipe.Model, run.Precision);   // the model's matmuls, also in the recipe's evaluation

        var config = ConfigFor(recipe, run);
        var configJson = config.ToJson();
        var (progress, changes) = Begin(recipe, run, config, configJson, Group);
        var evaluation = new EpochEvaluation(run, recipe.EvalPeriod, name, run.Resume is null ? null : progress.StartEpoch, writes: Group.IsMain);
        using var ranksLog = Group.IsMain ? null : new RankScratch(Group.Rank);
        using var log = ranksLog is null ? new TrainingLog(run.OutputDir, progress.GlobalStep, run.TensorBoard, console)
            : new TrainingLog(ranksLog.Directory, 0, tensorboard: false, TextWriter.Null);   // the other ranks write nothing in the run folder
        if (run.Resume is not null)
            log.Message($"{name}: resumed from {progress.LastCheckpoint} at epoch {progress.StartEpoch + 1}, iteration {progress.GlobalStep}" +
                (progress.StartStep > 0 ? $" ({progress.StartStep} of the epoch's {recipe.StepsPerEpoch} done)" : ""));
        foreach (var c in changes) log.Message($"{name}: changed on resume: {c}");

        var clock = Stopwatch.StartNew();
        var epochs = new EpochRunner<TBatch>(this, recipe, run, progress, configJson, log, cancel, clock);
        log.Run(progress.GlobalStep, (long)run.Epochs * recipe.StepsPerEpoch, () =>
        {
            for (int epoch = progress.StartEpoch; epoch < run.Epochs; epoch++)
            {
                var epochClock = Stopwatch.StartNew();
                double epochMean = epochs.TrainOneEpoch(epoch, epochClock);
                progress.TrainSeconds += epochClock.Elapsed.TotalSeconds;
                if (evaluation.DueAfter(epoch))
                {
                    EvalResult result;
                    // its batches run in NoGcDuringTorch one by one (ClassifierEvaluation); with several ranks each evaluates to the end
                    // (rank 0 records it) and a stop request waits for the next optimizer step, where the ranks agree on it
                    try { result = recipe.Evaluate(Group.Size == 1 ? cancel : CancellationToken.None); }
                    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                    {
                        progress.TrainSeconds -= epochClock.Elapsed.TotalSeconds;
                        epochs.Stop(epoch, recipe.StepsPerEpoch, epochClock);   // the resume evaluates and closes it
                        throw;
                    }
                    evaluation.Record(epoch, result, epochMean, progress.TrainSeconds, log);
                }
                SaveEpoch(recipe, run, progress, configJson, log, epoch, epochMean);
            }
            return 0;
        }, name);

        clock.Stop();
        return new TrainingResult(run.Epochs, progress.GlobalStep, epochs.LastLoss, epochs.LastEpochMean, progress.LastCheckpoint!, clock.Elapsed,
            epochs.StepsThisRun * run.BatchSize * run.Ranks / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), progress.TrainSeconds, evaluation.Evals,
                evaluation.Last)
            { SkippedSteps = progress.SkippedSteps };
    }

    /// <summary>config.json of this run: the recipe's options and inputs, this loop's <see cref="Inputs"/>, the derived values.</summary>
    RunConfig ConfigFor<TBatch>(TrainingRecipe<TBatch> recipe, RunOptions run) where TBatch : IDisposable
    {
        var inputs = recipe.Inputs;
        foreach (var (k, v) in Inputs) inputs[k] = v?.DeepClone();
        var config = RunConfig.For(recipe.Kind, recipe.ModelName, run, recipe.Options, recipe.Spec, recipe.Derived, inputs);
        config.Derived["steps_per_epoch"] = recipe.StepsPerEpoch;
        foreach (var (k, v) in Derived) config.Derived[k] = v?.DeepClone();
        return config;
    }

    /// <summary>
    /// util/misc.py's load_model: the checkpoint's model, optimizer and generator state after <see cref="ResumeCheck"/>, or a fresh
    /// start with <c>torch.manual_seed(seed)</c>; then config.json and history.jsonl.
    /// </summary>
    static (RunProgress Progress, IReadOnlyList<OptionChange> Changes) Begin<TBatch>(TrainingRecipe<TBatch> recipe, RunOptions run, RunConfig config,
        JsonObject configJson, IProcessGroup group)
        where TBatch : IDisposable
    {
        var progress = RunProgress.Fresh();
        IReadOnlyList<OptionChange> changes = [];
        if (run.Resume is { } resume)
        {
            var header = CheckpointStore.ReadInfo(resume);
            if (header.ModelName != recipe.ModelName)
                throw new InvalidDataException($"{resume}: the checkpoint holds a {header.ModelName}, but the run's model is {recipe.ModelName}");
            changes = ResumeCheck.Check(resume, header, config, recipe.Options.GetType(), recipe.StepsPerEpoch, run);
            progress = RunProgress.Resumed(resume, CheckpointStore.Load(resume, recipe.Model, recipe.Optimizer, recipe.ModelName));
        }
        else torch.random.manual_seed(run.Seed);
        if (!group.AllEqual(ProcessGroup.Checksum(recipe.Model.parameters())))
            throw new InvalidDataException($"{recipe.DisplayName}: the ranks start from different weights (rank {group.Rank}'s differ): " +
                "every rank must build the model from the same seed, or resume the same checkpoint");
        if (!group.IsMain) return (progress, changes);

        Directory.CreateDirectory(run.OutputDir);
        AtomicFile.Write(Path.Combine(run.OutputDir, RunConfig.FileName), s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write(configJson.ToJsonString(RunConfig.Json));
        });
        if (run.Resume is null) RunHistory.Started(run.OutputDir);
        else RunHistory.Resumed(run.OutputDir, progress, changes);
        return (progress, changes);
    }

    /// <summary>The end of an epoch: checkpoint-last, and a numbered checkpoint with .safetensors when periodic or final.</summary>
    void SaveEpoch<TBatch>(TrainingRecipe<TBatch> recipe, RunOptions run, RunProgress progress, JsonObject configJson, TrainingLog log,
        int epoch, double epochMean) where TBatch : IDisposable
    {
        bool keep = Store.IsPeriodic(epoch, run.Epochs), final = epoch + 1 == run.Epochs;
        if (!Group.IsMain) { progress.LastCheckpoint = keep ? Store.PeriodicPath(epoch) : Store.LastPath; return; }   // rank 0 writes it
        log.Flush();
        var info = progress.ToCheckpoint(recipe.ModelName, epoch, configJson, TorchRngState());
        progress.LastCheckpoint = Store.Save(recipe.Model, recipe.Optimizer, info, keep);   // in NoGcDuringTorch, as every step
        log.Message(string.Create(CultureInfo.InvariantCulture,
            $"{recipe.DisplayName} epoch {epoch + 1}/{run.Epochs}: mean loss {epochMean:F4}; checkpoint {progress.LastCheckpoint}")
            + (progress.SkippedSteps > 0 ? $"; {progress.SkippedSteps} iterations skipped for a non-finite loss so far" : ""));
        CheckpointWritten?.Invoke(new CheckpointWritten(epoch, progress.GlobalStep, progress.LastCheckpoint, keep, final, recipe.Model, log.History));
        recipe.Model.train();
    }

    internal static byte[] TorchRngState()
    {
        using var state = torch.random.get_rng_state();
        return state.data<byte>().ToArray();
    }
}

/// <summary>A rank other than 0 keeps its step log in a scratch folder of its own, deleted when the run ends: only rank 0 writes the run folder.</summary>
sealed class RankScratch : IDisposable
{
    public RankScratch(int rank) =>
        Directory = System.IO.Directory.CreateTempSubdirectory($"maedsl-rank{rank}-{Environment.ProcessId}-").FullName;

    public string Directory { get; }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

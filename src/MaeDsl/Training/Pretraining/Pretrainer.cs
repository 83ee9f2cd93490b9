// Pretrainer: the pre-training recipe (main_pretrain.py + engine_pretrain.py) run by the training loop.
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Training.Loop;
using MaeDsl.Training.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl.Training.Pretraining;

/// <summary>
/// Pre-training images, one epoch at a time. <see cref="Batches(int)"/> must yield exactly
/// <see cref="StepsPerEpoch"/> batches of [B, C, H, W] float images (drop_last, as the official loader),
/// in an order and with augmentations that depend only on (seed, epoch), so that a resumed run sees what
/// the uninterrupted one would have.
/// </summary>
public interface IPretrainBatches
{
    int StepsPerEpoch { get; }
    IEnumerable<Tensor> Batches(int epoch);

    /// <summary>The batches of <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on (a resume inside an epoch); by
    /// default the first ones are drawn and disposed.</summary>
    IEnumerable<Tensor> Batches(int epoch, int firstBatch) => Batches(epoch).Select((b, i) => { if (i < firstBatch) b.Dispose(); return (b, i); })
        .Where(x => x.i >= firstBatch).Select(x => x.b);

    /// <summary>The data's identity (image count, class names), recorded in config.json's "inputs" and checked on resume.</summary>
    System.Text.Json.Nodes.JsonObject Identity => new();
}

/// <summary>
/// The official pre-training recipe for any <see cref="MaskedAutoencoder"/>: AdamW (<see cref="PretrainOptions.Beta1"/>,
/// <see cref="PretrainOptions.Beta2"/>) over timm's weight-decay groups, the MAE loss of each batch with masking noise
/// drawn from a generator seeded by (seed, epoch, step), so a resumed run is bit-for-bit the uninterrupted one on CPU.
/// Everything else (schedule, accumulation, checkpoints, resume, logs) is the <see cref="TrainingLoop"/>'s.
/// </summary>
public sealed class Pretrainer : IDisposable
{
    public Pretrainer(MaskedAutoencoder model, PretrainOptions options)
    {
        options.Validate();
        Device = Devices.Resolve(options.Run.Device);
        Devices.MoveModel(model, Device);   // before the optimizer holds the parameters
        Model = model;
        Options = options;
        Loop = new TrainingLoop(options.Run);
        Optimizer = WeightDecay.CreateOptimizer(model, options.Run.AbsoluteLr, options.Run.WeightDecay, options.Beta1, options.Beta2);
        Loop.CheckpointWritten += e => CheckpointWritten?.Invoke(e);
    }

    public MaskedAutoencoder Model { get; }
    /// <summary>The device the model trains on (<see cref="RunOptions.Device"/>); batches and masking noise move there in the step.</summary>
    public Device Device { get; }
    public PretrainOptions Options { get; }
    internal TrainingLoop Loop { get; }
    public LrSchedule Schedule => Loop.Schedule;
    public AdamW Optimizer { get; }
    public CheckpointStore Store => Loop.Store;

    /// <summary>Called after each checkpoint (e.g. to draw the reconstruction grid and the loss curve).</summary>
    public event Action<CheckpointWritten>? CheckpointWritten;

    /// <summary>The seed of the masking-noise generator of one iteration, derived from (seed, epoch, step).</summary>
    public static long MaskingSeed(long seed, int epoch, int step) => Seeds.Derive(seed, Seeds.Streams.MaskNoise, epoch, step);

    /// <summary>Trains from scratch, or from a checkpoint of this model and recipe.</summary>
    /// <param name="data">The training images, StepsPerEpoch full batches per epoch.</param>
    /// <param name="resumeFrom">A .ckpt written by a run of the same model, seed, batch and accum; null: <see cref="RunOptions.Resume"/>.</param>
    /// <param name="console">Where plain progress lines go; null: stdout, with a progress bar on a terminal.</param>
    /// <param name="cancel">Stops the run between two iterations (the last checkpoint stays the resume point).</param>
    public PretrainResult Run(IPretrainBatches data, string? resumeFrom = null, TextWriter? console = null, CancellationToken cancel = default)
    {
        var r = Loop.Execute(new Recipe(this, data), console, cancel, resumeFrom);
        return new PretrainResult(r.Epochs, r.Steps, r.LastLoss, r.MeanLossLastEpoch, r.LastCheckpoint, r.Elapsed, r.ImagesPerSecond);
    }

    /// <summary>One iteration's loss: masking noise from (seed, epoch, step), forward, the MAE loss.</summary>
    public Tensor TrainingLoss(Tensor images, int epoch, int step)
    {
        if (images.dim() != 4 || images.shape[0] != Options.Run.BatchSize)
            throw new InvalidOperationException(
                $"batch {step} of epoch {epoch} is [{string.Join(", ", images.shape)}]; expected [{Options.Run.BatchSize}, C, H, W] (--batch " +
                $"{Options.Run.BatchSize}, drop_last)");
        using var generator = new torch.Generator((ulong)MaskingSeed(Options.Run.Seed, epoch, step));
        var group = Loop.Group;   // the noise is drawn on the CPU, its generator's device: the same draw on every device
        // with several ranks, the noise of the global batch, of which this rank's images are the rows GlobalRows (DistributedShard)
        var noise = group.Size == 1 ? Masking.DrawNoise(Model.Spec, images.shape[0], generator)
            : Masking.DrawNoise(Model.Spec, images.shape[0] * group.Size, generator)
                .index_select(0, torch.tensor(Loop.Shard.GlobalRows((int)images.shape[0])));
        return Model.forward(images, noise).Loss;
    }

    sealed class Recipe(Pretrainer p, IPretrainBatches data) : TrainingRecipe<Tensor>
    {
        public override string Kind => "pretrain";
        public override string DisplayName => "pre-training";
        public override string ModelName => p.Model.GetName();
        public override nn.Module Model => p.Model;
        public override OptimizerHelper Optimizer => p.Optimizer;
        public override IReadOnlyList<Parameter> TrainableParameters => p.Model.parameters().Where(x => x.requires_grad).ToList();
        public override object Options => p.Options;
        public override MaeSpec Spec => p.Model.Spec;
        public override int StepsPerEpoch => data.StepsPerEpoch;
        public override IEnumerable<Tensor> Batches(int epoch, CancellationToken cancel) => data.Batches(epoch);
        public override IEnumerable<Tensor> Batches(int epoch, int firstBatch, CancellationToken cancel) => data.Batches(epoch, firstBatch);
        public override System.Text.Json.Nodes.JsonObject Inputs => data.Identity;
        public override Tensor Loss(Tensor batch, int epoch, int step) => p.TrainingLoss(batch, epoch, step);
    }

    public void Dispose() => Optimizer.Dispose();
}

// PretrainPictures: the reconstruction grid and loss curve a pre-training run draws at its kept checkpoints.
using MaeDsl.Data;
using MaeDsl.IO;
using MaeDsl.Native;
using MaeDsl.Training.Loop;
using MaeDsl.Visualization;
using static TorchSharp.torch;

namespace MaeDsl.Training.Pretraining;

/// <summary>
/// The pictures of a pre-training run, drawn at every kept checkpoint and at the end (subscribe
/// <see cref="OnCheckpoint"/> to <see cref="Pretrainer.CheckpointWritten"/>): a reconstruction grid of fixed
/// preview images with fixed masks (<c>pictures/reconstruction-epoch-NNNN.png</c>, so that the epochs compare),
/// and the loss curve with the lr (<c>pictures/loss-curve.png</c>). At the end both are also copied to the run
/// folder as <c>reconstruction.png</c> and <c>loss-curve.png</c>.
/// </summary>
internal sealed class PretrainPictures : IDisposable
{
    readonly Tensor previewImages;
    readonly Tensor previewNoise;
    readonly Normalization normalization;

    /// <param name="previewImages">[N, C, H, W] normalised images (e.g. the first 8 test images); copied.</param>
    /// <param name="normalization">The normalisation of the images, undone before drawing.</param>
    /// <param name="runDirectory">The run's folder.</param>
    /// <param name="spec">The model's configuration (the masks are drawn for it once, from <paramref name="seed"/>).</param>
    /// <param name="seed">The run seed.</param>
    public PretrainPictures(Tensor previewImages, Normalization normalization, string runDirectory, MaeSpec spec, long seed)
    {
        this.previewImages = previewImages.detach().clone();
        this.normalization = normalization;
        RunDirectory = Path.GetFullPath(runDirectory);
        previewNoise = NoGcDuringTorch.Run(() =>
        {
            using var g = new Generator((ulong)Seeds.Derive(seed, Seeds.Streams.MaskNoise, -1, -1));
            return Masking.DrawNoise(spec, previewImages.shape[0], g);
        });
    }

    public string RunDirectory { get; }
    public string PicturesDirectory => Path.Combine(RunDirectory, "pictures");
    /// <summary>The files written by the last call (reconstruction grid, loss curve).</summary>
    public IReadOnlyList<string> LastWritten { get; private set; } = [];

    public void OnCheckpoint(CheckpointWritten e)
    {
        if (!e.Kept && !e.Final) return;
        if (e.Model is not MaskedAutoencoder model)
            throw new ArgumentException($"PretrainPictures: the checkpointed model is a {e.Model.GetType().Name}, not a MaskedAutoencoder", nameof(e));
        LastWritten = Draw(model, e.Epoch, e.History, e.Final);
    }

    /// <summary>Draws the reconstruction grid of the model's current weights and the loss curve of <paramref name="history"/>.</summary>
    public IReadOnlyList<string> Draw(MaskedAutoencoder model, int epoch, IReadOnlyList<StepMetrics> history, bool final) =>
        NoGcDuringTorch.Run(() => DrawCore(model, epoch, history, final));

    IReadOnlyList<string> DrawCore(MaskedAutoencoder model, int epoch, IReadOnlyList<StepMetrics> history, bool final)
    {
        var written = new List<string>();
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            using var scope = NewDisposeScope();
            using var output = model.forward(previewImages, previewNoise);
            string grid = ReconstructionGrid.Save(Path.Combine(PicturesDirectory, $"reconstruction-epoch-{epoch + 1:D4}.png"),
                previewImages, output.Pred, output.Mask, model.Spec.PatchSize, model.Spec.Channels,
                normalization.Mean, normalization.Std, model.Spec.NormalizePixels);
            written.Add(grid);
            if (final)
            {
                string copy = Path.Combine(RunDirectory, Path.GetFileName(grid).Replace($"-epoch-{epoch + 1:D4}", ""));
                CopyAtomically(grid, copy);
                written.Add(copy);
            }
        }
        finally { model.train(wasTraining); }

        if (history.Count > 0)
        {
            string curve = LossCurve.Save(Path.Combine(PicturesDirectory, "loss-curve.png"),
                history.Select(m => m.Step).ToArray(), history.Select(m => (double)m.Loss).ToArray(),
                history.Select(m => m.Lr).ToArray(), $"{model.GetName()} pre-training loss (epoch {epoch + 1})");
            written.Add(curve);
            if (final)
            {
                string copy = Path.Combine(RunDirectory, "loss-curve.png");
                CopyAtomically(curve, copy);
                written.Add(copy);
            }
        }
        return written;
    }

    static void CopyAtomically(string from, string to) =>
        AtomicFile.Write(to, stream => { using var source = File.OpenRead(from); source.CopyTo(stream); });

    public void Dispose()
    {
        previewImages.Dispose();
        previewNoise.Dispose();
    }
}

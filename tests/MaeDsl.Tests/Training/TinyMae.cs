using TorchSharp;

namespace MaeDsl.Tests.Training;

/// <summary>A tiny MAE (8×8 grey images, 2×2 patches → 16 patches, encoder 32-d × 2, decoder 16-d × 1) for training tests.</summary>
sealed class TinyMae : MaskedAutoencoder
{
    public static readonly MaeSpec TinySpec = new(
        ImageSize: 8, PatchSize: 2, Channels: 1,
        EncoderDepth: 2, EncoderWidth: 32, EncoderHeads: 4, EncoderMlpRatio: 4, DropPath: 0,
        DecoderDepth: 1, DecoderWidth: 16, DecoderHeads: 2, DecoderMlpRatio: 4,
        MaskRatio: 0.75, Masking: MaskingStrategy.Random, MaskTokensInEncoder: false, NormalizePixels: false);

    public TinyMae(long seed) : base(nameof(TinyMae), TinySpec, seed) { }
    public override MaeOutput forward(torch.Tensor images) => ForwardCore(images, null);
    public override MaeOutput forward(torch.Tensor images, torch.Tensor noise) => ForwardCore(images, noise);
    public override torch.Tensor Encode(torch.Tensor images) => EncodeCore(images);
    public override torch.Tensor Patchify(torch.Tensor images) => PatchifyCore(images);
    public override torch.Tensor Unpatchify(torch.Tensor patches) => UnpatchifyCore(patches);
}

/// <summary>
/// A fixed pool of smooth synthetic 8×8 images (sums of two random low-frequency waves), shuffled per
/// (seed, epoch) with a generator seeded from both, so that any epoch can be replayed alone.
/// Optionally poisons one batch with NaN.
/// </summary>
sealed class SyntheticBatches : MaskedAutoencoderTestData
{
    public SyntheticBatches(int images, int batch, long seed, (int Epoch, int Step)? poison = null) : base(images, batch, seed, poison) { }
}

class MaskedAutoencoderTestData : MaeDsl.Training.Pretraining.IPretrainBatches
{
    readonly Tensor pool;
    readonly int batch;
    readonly long seed;
    readonly (int Epoch, int Step)? poison;

    public MaskedAutoencoderTestData(int images, int batch, long seed, (int Epoch, int Step)? poison)
    {
        var g = new torch.Generator(1234);
        var coords = torch.arange(8, dtype: torch.float32);
        var y = coords.view(1, 8, 1);
        var x = coords.view(1, 1, 8);
        var f = torch.rand([images, 4, 1, 1], generator: g) * 0.8f;
        var phase = torch.rand([images, 2, 1, 1], generator: g) * 6.28f;
        var img = (torch.sin(f[.., 0..1] * x + f[.., 1..2] * y + phase[.., 0..1]) + torch.cos(f[.., 2..3] * x - f[.., 3..4] * y + phase[.., 1..2])) * 0.5f;
        pool = img.view(images, 1, 8, 8).detach();
        this.batch = batch;
        this.seed = seed;
        this.poison = poison;
        StepsPerEpoch = images / batch;
    }

    public int StepsPerEpoch { get; }

    public IEnumerable<Tensor> Batches(int epoch)
    {
        var g = new torch.Generator((ulong)(seed * 1000 + epoch));
        var order = torch.randperm(pool.shape[0], generator: g);
        for (int s = 0; s < StepsPerEpoch; s++)
        {
            var images = pool[order[(s * batch)..((s + 1) * batch)]].clone();
            if (poison is { } p && p.Epoch == epoch && p.Step == s) images[0, 0, 0, 0] = torch.tensor(float.NaN);
            yield return images;
        }
    }
}

namespace MaeDsl.Training;

/// <summary>
/// Linear probing with the defaults of the official <c>main_linprobe.py</c>: frozen encoder, cls-token features
/// after the encoder's norm, head BatchNorm1d(affine=false, eps 1e-6) + Linear, LARS (momentum 0.9, trust 0.001)
/// with weight decay 0, blr 0.1, lr = blr × effective batch / 256, 10 warmup epochs then cosine to min lr 0,
/// 90 epochs, batch 512 (16 GPUs × 1024 in the paper's command; 512 is the script's per-GPU default), training
/// augmentation RandomResizedCrop (scale 0.08–1) + flip.
/// </summary>
public sealed record LinearProbeOptions : ClassifierRunOptions
{
    public LinearProbeOptions()
    {
        Epochs = 90;
        BatchSize = 512;
        BaseLr = 0.1;
        WarmupEpochs = 10;
        GlobalPool = false;      // the official linear probe uses the cls token; true pools the patch tokens + fc_norm
        OutputDir = "output_linprobe";
    }

    protected override void Validate(Action<bool, string, object, string> require)
    {
        base.Validate(require);
        require(BatchSize >= 2, nameof(BatchSize), BatchSize, "≥ 2 (BatchNorm1d needs more than one sample per batch)");
    }
}

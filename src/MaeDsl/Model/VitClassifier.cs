// VitClassifier: the official models_vit.VisionTransformer (the encoder + pooling + head) for fine-tuning and probing.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MaeDsl;

/// <summary>
/// The fine-tune ViT of the official models_vit.py: patch_embed, cls_token, a trainable pos_embed,
/// blocks with drop-path rising linearly over depth, then either the mean of the patch tokens and
/// fc_norm (global pool, the default) or the cls token after norm, and a linear head.
/// Images [B, C, H, W] → logits [B, numClasses].
/// </summary>
public sealed class VitClassifier : Module<Tensor, Tensor>
{
    private readonly Parameter cls_token;       // [1, 1, W]
    private readonly Parameter pos_embed;       // [1, 1 + L, W], trainable (as in timm)
    private readonly PatchEmbed patch_embed;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm? norm;           // cls-token pooling only
    private readonly Module<Tensor, Tensor> head;
    private readonly LayerNorm? fc_norm;        // global pooling only

    /// <param name="spec">The encoder's configuration (image, patches, width, depth, heads).</param>
    /// <param name="numClasses">Number of classes of the linear head.</param>
    /// <param name="globalPool">Mean of the patch tokens + fc_norm (true), or the cls token after norm.</param>
    /// <param name="dropPath">Stochastic-depth rate of the last block; block i gets dropPath·i/(depth−1).</param>
    /// <param name="head">A head to use instead of Linear(W, numClasses) (the linear probe's BatchNorm + Linear).</param>
    /// <param name="seed">Seeds the initialisation.</param>
    public VitClassifier(MaeSpec spec, int numClasses, bool globalPool = true, double dropPath = 0.0,
                         Module<Tensor, Tensor>? head = null, long? seed = null) : base(nameof(VitClassifier))
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "numClasses must be at least 1");
        if (dropPath < 0 || dropPath >= 1) throw new ArgumentOutOfRangeException(nameof(dropPath), dropPath, "dropPath must be in [0, 1)");
        Spec = spec;
        NumClasses = numClasses;
        GlobalPool = globalPool;
        int w = spec.EncoderWidth, depth = spec.EncoderDepth;
        var g = new Generator((ulong)(seed ?? Random.Shared.NextInt64()));

        cls_token = Parameter(zeros(1, 1, w));
        pos_embed = Parameter(zeros(1, 1 + spec.NumPatches, w));
        patch_embed = new PatchEmbed(spec.PatchSize, spec.Channels, w);
        blocks = new ModuleList<Block>(Enumerable.Range(0, depth)
            .Select(i => new Block(w, spec.EncoderHeads, spec.EncoderMlpHidden, depth > 1 ? dropPath * i / (depth - 1) : dropPath)).ToArray());
        if (!globalPool) norm = LayerNorm(w, eps: MaeSpec.LayerNormEps);
        var linear = head is null ? Linear(w, numClasses) : null;
        this.head = head ?? linear!;
        if (globalPool) fc_norm = LayerNorm(w, eps: MaeSpec.LayerNormEps);
        RegisterComponents();

        // Encoder weights as a fresh MAE would have them (CopyEncoderFrom overwrites them); the head as main_finetune.py.
        MaeDsl.Native.NoGcDuringTorch.Run(() =>   // torch work: no GC inside (see NoGcDuringTorch)
        {
            using (no_grad())
            using (var table = PositionEmbedding.SinCos2D(w, spec.GridSize)) pos_embed.copy_(table.unsqueeze(0));
            Init.Normal(cls_token, 0.02, g);
            Init.Vit(patch_embed, [], blocks.modules().Append(norm).Append(fc_norm), g);
            if (linear is not null)
            {
                Init.TruncNormal(linear.weight!, 2e-5, g);
                Init.Constant(linear.bias!, 0);
            }
        });
    }

    public MaeSpec Spec { get; }
    public int NumClasses { get; }
    public bool GlobalPool { get; }
    /// <summary>Number of transformer blocks (layer-wise lr decay has Depth + 1 layers).</summary>
    public int Depth => Spec.EncoderDepth;
    private Precision precision;

    /// <summary>
    /// The number format of the encoder's matrix multiplications (see <see cref="MaeDsl.Precision"/>); the pooling,
    /// the norms and the head stay float32, so the logits are float32. Default <see cref="Precision.Fp32"/>.
    /// </summary>
    public Precision Precision
    {
        get => precision;
        set => precision = MixedPrecision.Propagate(this, value);
    }

    /// <summary>The head module (Linear, or the linear probe's Sequential).</summary>
    public Module<Tensor, Tensor> Head => head;

    /// <summary>Copies patch_embed, cls_token, pos_embed, blocks (and norm with cls pooling) from a pre-trained MAE.</summary>
    public void CopyEncoderFrom(MaskedAutoencoder mae)
    {
        if (mae.Spec.EncoderWidth != Spec.EncoderWidth || mae.Spec.EncoderDepth != Spec.EncoderDepth || mae.Spec.NumPatches != Spec.NumPatches
            || mae.Spec.PatchDim != Spec.PatchDim || mae.Spec.EncoderHeads != Spec.EncoderHeads || mae.Spec.EncoderMlpHidden != Spec.EncoderMlpHidden)
            throw new ArgumentException($"CopyEncoderFrom: the MAE's encoder ({Describe(mae.Spec)}) does not fit this classifier's ({Describe(Spec)})",
                nameof(mae));
        var mine = state_dict();
        using var _ = no_grad();
        foreach (var (name, source) in mae.EncoderTensors())
            if (mine.TryGetValue(name, out var target)) target.copy_(source);
    }

    static string Describe(MaeSpec s) => $"width {s.EncoderWidth}, depth {s.EncoderDepth}, heads {s.EncoderHeads}, {s.NumPatches} patches of {s.PatchDim}";

    /// <summary>Pooled features before the head: [B, W].</summary>
    public Tensor ForwardFeatures(Tensor images)
    {
        ShapeGuard.RequireFloat(images, $"{nameof(VitClassifier)}.{nameof(ForwardFeatures)}", "images", -1, Spec.Channels, Spec.ImageSize, Spec.ImageSize);
        using var scope = NewDisposeScope();
        var x = patch_embed.forward(Devices.To(images, pos_embed.device));                     // [B, L, W]; a CPU batch moves here
        x = cat([cls_token.expand(x.shape[0], -1, -1), x], 1) + pos_embed;                     // [B, 1 + L, W]
        foreach (var block in blocks) x = block.forward(x);
        var pooled = GlobalPool ? MetaSubstitutes.LayerNorm(fc_norm!, x[.., 1..].mean([1])) : MetaSubstitutes.LayerNorm(norm!, x)[.., 0];
        return pooled.MoveToOuterDisposeScope();                                               // [B, W]
    }

    /// <summary>images [B, C, H, W] → logits [B, numClasses].</summary>
    public override Tensor forward(Tensor images)
    {
        using var features = ForwardFeatures(images);
        return head.forward(features);
    }
}

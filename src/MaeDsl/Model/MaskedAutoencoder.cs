// MaskedAutoencoder: the runtime MAE (models_mae.MaskedAutoencoderViT) that generated variants derive from.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MaeDsl;

/// <summary>
/// The MAE pre-training model of the official models_mae.py, built from a <see cref="MaeSpec"/>:
/// a ViT encoder on the visible patches (plus a cls token), a light decoder that gets a shared mask
/// token at every removed position, and the MSE on the removed patches. Field names are the official
/// state_dict names. Generated variants derive from it and add compile-time shapes and guards.
/// </summary>
public abstract class MaskedAutoencoder : Module<Tensor, MaeOutput>
{
    // ---- encoder ----
    private readonly Parameter cls_token;          // [1, 1, W]
    private readonly Parameter pos_embed;          // [1, 1 + L, W], fixed sin-cos
    // ---- decoder (mask_token is [1, 1, W] and sits in the encoder with MaskTokensInEncoder) ----
    private readonly Parameter mask_token;         // [1, 1, D]
    private readonly Parameter decoder_pos_embed;  // [1, 1 + L, D], fixed sin-cos
    private readonly PatchEmbed patch_embed;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm norm;
    private readonly Linear decoder_embed;
    private readonly ModuleList<Block> decoder_blocks;
    private readonly LayerNorm decoder_norm;
    private readonly Linear decoder_pred;

    private readonly Generator maskingGenerator;

    /// <param name="name">The module's name (the generated class's name).</param>
    /// <param name="spec">A valid configuration; an invalid one throws with every broken rule.</param>
    /// <param name="seed">Seeds the initialisation and the masking noise; null draws a random seed.</param>
    protected MaskedAutoencoder(string name, MaeSpec spec, long? seed) : base(name)
    {
        Native.TorchRuntime.EnsureLoaded();
        var problems = spec.Validate().Where(p => !p.IsWarning).ToList();
        if (problems.Count > 0)
            throw new ArgumentException($"{name}: the MAE configuration is invalid: {string.Join("; ", problems.Select(p => p.ToString()))}", nameof(spec));
        Spec = spec;
        int w = spec.EncoderWidth, d = spec.DecoderWidth, l = spec.NumPatches;

        cls_token = Parameter(zeros(1, 1, w));
        pos_embed = Parameter(zeros(1, 1 + l, w), requires_grad: false);
        mask_token = Parameter(zeros(1, 1, spec.MaskTokensInEncoder ? w : d));
        decoder_pos_embed = Parameter(zeros(1, 1 + l, d), requires_grad: false);
        patch_embed = new PatchEmbed(spec.PatchSize, spec.Channels, w);
        blocks = new ModuleList<Block>(Enumerable.Range(0, spec.EncoderDepth)
            .Select(_ => new Block(w, spec.EncoderHeads, spec.EncoderMlpHidden)).ToArray());
        norm = LayerNorm(w, eps: MaeSpec.LayerNormEps);
        decoder_embed = Linear(w, d);
        decoder_blocks = new ModuleList<Block>(Enumerable.Range(0, spec.DecoderDepth)
            .Select(_ => new Block(d, spec.DecoderHeads, spec.DecoderMlpHidden)).ToArray());
        decoder_norm = LayerNorm(d, eps: MaeSpec.LayerNormEps);
        decoder_pred = Linear(d, spec.PatchDim);
        RegisterComponents();

        long s = seed ?? Random.Shared.NextInt64();
        MaeDsl.Native.NoGcDuringTorch.Run(() => InitializeWeights(new Generator((ulong)s)));   // torch work: no GC inside (see NoGcDuringTorch)
        maskingGenerator = new Generator((ulong)(s ^ 0x5DEECE66DL));
    }

    /// <summary>The configuration this model was built from.</summary>
    public MaeSpec Spec { get; }

    private Precision precision;

    /// <summary>
    /// The number format of the matrix multiplications: <see cref="Precision.Fp32"/> (the default, the official
    /// numerics) or <see cref="Precision.Bf16"/> mixed precision (see there). Parameters, gradients and the loss stay
    /// float32 either way, so an optimizer needs no change; the setting can change between steps.
    /// </summary>
    public Precision Precision
    {
        get => precision;
        set => precision = MixedPrecision.Propagate(this, value);
    }

    /// <summary>The official initialize_weights: sin-cos position embeddings, xavier_uniform for the
    /// patch projection (as [out, in·p·p]) and every Linear (zero bias), normal(0.02) tokens, LayerNorm 1/0.</summary>
    private void InitializeWeights(Generator g)
    {
        using var _ = no_grad();
        using (var table = PositionEmbedding.SinCos2D(Spec.EncoderWidth, Spec.GridSize)) pos_embed.copy_(table.unsqueeze(0));
        using (var table = PositionEmbedding.SinCos2D(Spec.DecoderWidth, Spec.GridSize)) decoder_pos_embed.copy_(table.unsqueeze(0));
        Init.Vit(patch_embed, [cls_token, mask_token], modules(), g);
    }

    // ---- the public surface: generated variants override these with shape guards, then call the *Core methods ----

    /// <summary>images [B, C, H, W] → loss, pred, mask, ids_restore, latent; the mask is drawn from the model's generator.</summary>
    public abstract override MaeOutput forward(Tensor images);
    /// <summary>As <see cref="forward(Tensor)"/> with per-patch noise [B, L]: the patches with the smallest noise are kept.</summary>
    public abstract MaeOutput forward(Tensor images, Tensor noise);
    /// <summary>Unmasked features for downstream use: [B, 1 + L, W] after the encoder's norm, cls token first.</summary>
    public abstract Tensor Encode(Tensor images);
    /// <summary>[B, C, H, W] → [B, L, p²C].</summary>
    public abstract Tensor Patchify(Tensor images);
    /// <summary>[B, L, p²C] → [B, C, H, W].</summary>
    public abstract Tensor Unpatchify(Tensor patches);

    /// <summary>Draws the per-patch masking noise [B, L] of this model's strategy from its own generator.</summary>
    public Tensor DrawNoise(long batch) => Masking.DrawNoise(Spec, batch, maskingGenerator);

    protected Tensor PatchifyCore(Tensor images) => Patches.Patchify(images, Spec.PatchSize);
    protected Tensor UnpatchifyCore(Tensor patches) => Patches.Unpatchify(patches, Spec.PatchSize, Spec.Channels);

    protected MaeOutput ForwardCore(Tensor images, Tensor? noise)
    {
        using var scope = NewDisposeScope();
        images = Devices.To(images, pos_embed.device);                                         // a CPU batch moves here, as late as possible
        noise ??= DrawNoise(images.shape[0]);
        var (latent, mask, idsRestore) = ForwardEncoder(images, noise);
        var pred = ForwardDecoder(latent, idsRestore);                                        // [B, L, p²C]
        var loss = ReconstructionLoss.Compute(PatchifyCore(images), pred, mask, Spec.NormalizePixels);
        return new MaeOutput(loss, pred, mask, idsRestore, latent).MoveToOuterDisposeScope();
    }

    /// <summary>patch_embed + pos → masking → [cls; visible] → blocks → norm. Returns latent, mask, ids_restore.</summary>
    private (Tensor Latent, Tensor Mask, Tensor IdsRestore) ForwardEncoder(Tensor images, Tensor noise)
    {
        var x = patch_embed.forward(images) + pos_embed[.., 1..];                              // [B, L, W]
        var (kept, mask, idsRestore) = Masking.Apply(x, noise, Spec.VisibleCount);            // [B, V, W]
        if (Spec.MaskTokensInEncoder)
        {
            // "encoder w/ [M]": every position stays, a removed one holds the mask token (with its position).
            var removed = mask.unsqueeze(-1);                                                  // [B, L, 1]
            kept = x * (1 - removed) + (mask_token + pos_embed[.., 1..]) * removed;           // [B, L, W]
        }
        var cls = (cls_token + pos_embed[.., ..1]).expand(x.shape[0], -1, -1);                 // [B, 1, W]
        x = cat([cls, kept], 1);                                                               // [B, 1 + V, W]
        foreach (var block in blocks) x = block.forward(x);
        return (MetaSubstitutes.LayerNorm(norm, x), mask, idsRestore);
    }

    /// <summary>decoder_embed → mask tokens at the removed positions, unshuffled → + pos → blocks → norm → pred.</summary>
    private Tensor ForwardDecoder(Tensor latent, Tensor idsRestore)
    {
        var x = MixedPrecision.Linear(decoder_embed, latent, precision);                        // [B, 1 + V, D]
        if (precision != Precision.Fp32) x = x.to(float32);                                    // the decoder's stream is float32
        if (!Spec.MaskTokensInEncoder)
        {
            long b = x.shape[0], l = Spec.NumPatches, d = Spec.DecoderWidth;
            var maskTokens = mask_token.expand(b, l + 1 - x.shape[1], d);                      // [B, L − V, D]
            var patches = cat([x[.., 1..], maskTokens], 1);                                     // [B, L, D], kept first
            patches = patches.gather(1, idsRestore.unsqueeze(-1).expand(b, l, d));             // unshuffle
            x = cat([x[.., ..1], patches], 1);                                                 // [B, 1 + L, D]
        }
        x = x + decoder_pos_embed;
        foreach (var block in decoder_blocks) x = block.forward(x);
        x = MixedPrecision.Linear(decoder_pred, MetaSubstitutes.LayerNorm(decoder_norm, x), precision);           // [B, 1 + L, p²C]
        if (precision != Precision.Fp32) x = x.to(float32);                                    // pred and the loss in float32
        return x[.., 1..];                                                                     // drop the cls token
    }

    protected Tensor EncodeCore(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = patch_embed.forward(Devices.To(images, pos_embed.device)) + pos_embed[.., 1..];   // [B, L, W]
        var cls = (cls_token + pos_embed[.., ..1]).expand(x.shape[0], -1, -1);
        x = cat([cls, x], 1);                                                                  // [B, 1 + L, W]
        foreach (var block in blocks) x = block.forward(x);
        return MetaSubstitutes.LayerNorm(norm, x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The fine-tune ViT of models_vit.py holding a copy of this encoder's weights: global average pool
    /// over the patch tokens + fc_norm (default), or the cls token + norm; a head of trunc_normal(2e-5), drawn from
    /// <paramref name="seed"/> (null: a fresh random seed).
    /// </summary>
    public VitClassifier CreateClassifier(int numClasses, bool globalPool = true, double dropPath = 0.0, long? seed = null)
    {
        var classifier = new VitClassifier(Spec, numClasses, globalPool, dropPath, seed: seed);
        classifier.CopyEncoderFrom(this);
        return classifier;
    }

    /// <summary>The encoder's tensors by official name (patch_embed.*, cls_token, pos_embed, blocks.*, norm.*).</summary>
    internal IEnumerable<(string Name, Tensor Tensor)> EncoderTensors() =>
        state_dict().Where(kv => IsEncoderKey(kv.Key)).Select(kv => (kv.Key, kv.Value));

    internal static bool IsEncoderKey(string key) =>
        key is "cls_token" or "pos_embed" || key.StartsWith("patch_embed.") || key.StartsWith("blocks.") || key.StartsWith("norm.");
}

// One validated description of an MAE: image, patches, encoder, decoder, masking and loss.
// Every shape and parameter count follows from it. This file is compiled into the runtime
// (src/MaeDsl, public) and, as a linked source file, into the generator (internal), so the
// compile-time model card and the runtime cannot disagree.
#nullable enable
using System;
using System.Collections.Generic;

namespace MaeDsl
{
    /// <summary>Which patches the encoder does not see (the paper's Fig. 6 ablation).</summary>
#if MAEDSL_GENERATOR
    internal
#else
    public
#endif
    enum MaskingStrategy
    {
        /// <summary>Uniformly random patches (the paper's default).</summary>
        Random = 0,
        /// <summary>BEiT's block-wise masking: random rectangles, topped up with random patches.</summary>
        Block = 1,
        /// <summary>Keeps one patch of every 2×2 (ratio 0.75 only).</summary>
        Grid = 2,
    }

    /// <summary>An MAE configuration. A value 0 means "not given" where a positive value is required.</summary>
#if MAEDSL_GENERATOR
    internal
#else
    public
#endif
    sealed record MaeSpec(
        int ImageSize,
        int PatchSize,
        int Channels,
        int EncoderDepth,
        int EncoderWidth,
        int EncoderHeads,
        double EncoderMlpRatio,
        double DropPath,
        int DecoderDepth,
        int DecoderWidth,
        int DecoderHeads,
        double DecoderMlpRatio,
        double MaskRatio,
        MaskingStrategy Masking,
        bool MaskTokensInEncoder,
        bool NormalizePixels)
    {
        /// <summary>LayerNorm epsilon of every norm in the official models (timm's partial(nn.LayerNorm, eps=1e-6)).</summary>
        public const double LayerNormEps = 1e-6;
        /// <summary>The epsilon of the per-patch normalised target: (x − mean) / sqrt(var + 1e-6).</summary>
        public const double NormPixEps = 1e-6;

        // ---- defaults, as the official presets and main_pretrain.py have them ----
        public const int DefaultImageSize = 224;
        public const int DefaultPatchSize = 16;
        public const int DefaultChannels = 3;
        public const double DefaultMlpRatio = 4.0;
        public const int DefaultDecoderHeads = 16;
        public const double DefaultMaskRatio = 0.75;

        /// <summary>Heads when none is given: Width / 64 for a multiple of 64 (ViT-B 12, ViT-L 16), else 0 (must be given).</summary>
        public static int DefaultHeads(int width) => width > 0 && width % 64 == 0 ? width / 64 : 0;

        // ---- shapes ----
        /// <summary>Patches per side: ImageSize / PatchSize.</summary>
        public int GridSize => PatchSize > 0 ? ImageSize / PatchSize : 0;
        /// <summary>L, the number of patches.</summary>
        public int NumPatches => GridSize * GridSize;
        /// <summary>p²·C, the length of one patch's pixel vector (the decoder's output per token).</summary>
        public int PatchDim => PatchSize * PatchSize * Channels;
        /// <summary>Patches the encoder sees: (int)(L × (1 − ratio)), computed in double as the official code does.</summary>
        public int VisibleCount => KeptPatches(NumPatches, MaskRatio);
        /// <summary>Patches removed and reconstructed.</summary>
        public int MaskedCount => NumPatches - VisibleCount;
        /// <summary>Tokens the encoder's blocks see: cls + visible patches (or cls + all L with mask tokens in the encoder).</summary>
        public int EncoderTokens => 1 + (MaskTokensInEncoder ? NumPatches : VisibleCount);
        public int EncoderHeadDim => EncoderHeads > 0 ? EncoderWidth / EncoderHeads : 0;
        public int DecoderHeadDim => DecoderHeads > 0 ? DecoderWidth / DecoderHeads : 0;
        /// <summary>The MLP hidden size, round(Width × MlpRatio), as timm's int(dim * mlp_ratio) for integral products.</summary>
        public int EncoderMlpHidden => MlpHidden(EncoderWidth, EncoderMlpRatio);
        public int DecoderMlpHidden => MlpHidden(DecoderWidth, DecoderMlpRatio);

        public static int KeptPatches(int numPatches, double maskRatio) => (int)(numPatches * (1 - maskRatio));
        public static int MlpHidden(int width, double mlpRatio) => (int)Math.Round(width * mlpRatio);

        // ---- parameter counts (trainable: the sin-cos position embeddings are frozen) ----
        /// <summary>One pre-norm transformer block: norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2.</summary>
        public static long BlockParameters(long width, long hidden) =>
            2 * width + (3 * width * width + 3 * width) + (width * width + width) + 2 * width + (width * hidden + hidden) + (hidden * width + width);

        /// <summary>patch_embed, cls_token, blocks and norm: the encoder a classifier inherits.</summary>
        public long EncoderParameterCount =>
            ((long)PatchDim * EncoderWidth + EncoderWidth) + EncoderWidth
            + EncoderDepth * BlockParameters(EncoderWidth, EncoderMlpHidden) + 2L * EncoderWidth;

        /// <summary>decoder_embed, mask_token, decoder_blocks, decoder_norm and decoder_pred.</summary>
        public long DecoderParameterCount =>
            ((long)EncoderWidth * DecoderWidth + DecoderWidth) + DecoderWidth
            + DecoderDepth * BlockParameters(DecoderWidth, DecoderMlpHidden) + 2L * DecoderWidth
            + ((long)DecoderWidth * PatchDim + PatchDim);

        /// <summary>
        /// Trainable parameters of the pre-training model (the sum of numel over parameters() with requires_grad).
        /// With mask tokens in the encoder, mask_token is [1, 1, EncoderWidth] instead of [1, 1, DecoderWidth].
        /// </summary>
        public long ParameterCount => EncoderParameterCount + DecoderParameterCount + (MaskTokensInEncoder ? EncoderWidth - DecoderWidth : 0);

        /// <summary>Elements of the frozen pos_embed [1, 1+L, W] and decoder_pos_embed [1, 1+L, D].</summary>
        public long FrozenParameterCount => (1L + NumPatches) * (EncoderWidth + DecoderWidth);

        /// <summary>The fine-tune ViT: encoder + trainable pos_embed + head (fc_norm replaces norm, same size).</summary>
        public long ClassifierParameterCount(int numClasses) =>
            EncoderParameterCount + (1L + NumPatches) * EncoderWidth + ((long)EncoderWidth * numClasses + numClasses);

        /// <summary>Multiply-accumulates of one pre-training forward pass per image (matrix products only).</summary>
        public long ForwardMacsPerImage
        {
            get
            {
                long patchEmbed = PatchEmbedMacsPerImage;
                long encoder = EncoderDepth * BlockMacs(EncoderTokens, EncoderWidth, EncoderMlpHidden);
                long decoderTokens = 1L + NumPatches;
                long decoder = (long)EncoderTokens * EncoderWidth * DecoderWidth
                    + DecoderDepth * BlockMacs(decoderTokens, DecoderWidth, DecoderMlpHidden)
                    + decoderTokens * DecoderWidth * PatchDim;
                return patchEmbed + encoder + decoder;
            }
        }

        /// <summary>Multiply-accumulates of the patch embedding (the p×p stride-p convolution as a GEMM) of one image: all L patches, before masking.</summary>
        public long PatchEmbedMacsPerImage => (long)NumPatches * PatchDim * EncoderWidth;

        /// <summary>
        /// FLOPs of one pre-training image, forward + backward, matrix products only, 2 FLOPs per multiply-accumulate.
        /// Forward: <see cref="ForwardMacsPerImage"/> (patch embedding on all L patches; each block's qkv, q·kᵀ, attn·v,
        /// proj, fc1, fc2 on the tokens it sees, i.e. cls + the visible patches in the encoder and cls + L in the decoder;
        /// decoder_embed and decoder_pred). Backward: two products of the forward's size per product (the gradient of its
        /// input and of its weight, or of both operands for the attention products), except the patch embedding, whose
        /// input (the images) needs no gradient: only its weight gradient. So 2 × (3 × forward − patch embedding).
        /// Not counted: LayerNorm, softmax, GELU, residual adds, the loss and the optimizer (elementwise work).
        /// </summary>
        public long TrainingFlopsPerImage => 2 * (3 * ForwardMacsPerImage - PatchEmbedMacsPerImage);

        /// <summary>
        /// FLOPs of one unmasked encode (<c>Encode</c>: cls + all L patches through the encoder, forward only, matrix
        /// products only): patch embedding plus every encoder block on 1 + L tokens, 2 FLOPs per multiply-accumulate.
        /// </summary>
        public long EncodeFlopsPerImage => 2 * (PatchEmbedMacsPerImage + EncoderDepth * BlockMacs(1L + NumPatches, EncoderWidth, EncoderMlpHidden));

        static long BlockMacs(long tokens, long width, long hidden) =>
            tokens * width * 3 * width + 2 * tokens * tokens * width + tokens * width * width + 2 * tokens * width * hidden;

        /// <summary>
        /// One line for help texts and the registry's generated descriptions: "224×224×3, patch 16, encoder 12×768, decoder 8×512",
        /// followed by what differs from the official pre-training (", mask ratio 0.6", ", block masking", ", mask tokens in encoder", ", norm_pix_loss").
        /// </summary>
        public string ShapeSummary()
        {
            var c = System.Globalization.CultureInfo.InvariantCulture;
            string text = string.Format(c, "{0}×{0}×{1}, patch {2}, encoder {3}×{4}, decoder {5}×{6}",
                ImageSize, Channels, PatchSize, EncoderDepth, EncoderWidth, DecoderDepth, DecoderWidth);
            if (MaskRatio != DefaultMaskRatio) text += ", mask ratio " + MaskRatio.ToString("0.############", c);
            if (Masking == MaskingStrategy.Block) text += ", block masking";
            if (Masking == MaskingStrategy.Grid) text += ", grid masking";
            if (MaskTokensInEncoder) text += ", mask tokens in encoder";
            if (NormalizePixels) text += ", norm_pix_loss";
            return text;
        }

        // ---- rules ----
        /// <summary>Every rule this configuration breaks, with the attribute argument to blame. Empty when the model can be built.</summary>
        public IReadOnlyList<SpecProblem> Validate() => MaeRules.Check(this);
    }

    /// <summary>A broken rule: its MAE id, the attribute and argument it blames, and the message's arguments as strings.</summary>
#if MAEDSL_GENERATOR
    internal
#else
    public
#endif
    sealed record SpecProblem(string Id, string Attribute, string Argument, string[] MessageArgs)
    {
        public bool IsWarning => Id == MaeRules.RatioOutsidePaperRange;

        /// <summary>
        /// The edits the message suggests, each "Attribute.Argument=value" ("Encoder.Width=992"), in the message's order: what the
        /// analyzer's code fixes offer, one fix per edit. Empty when no single value is the obvious answer.
        /// </summary>
        public string[] Fixes { get; init; } = new string[0];
        public string Message => string.Format(System.Globalization.CultureInfo.InvariantCulture, MaeRules.MessageFormat(Id), MessageArgs);
        public override string ToString() => $"{Id}: [{Attribute}({Argument})] {Message}";
    }
}

// Precision: the number format of a model's matrix multiplications (fp32, or bf16 mixed precision); MixedPrecision.cs holds the casts.
using System.Text.Json.Serialization;

namespace MaeDsl;

/// <summary>
/// The number format of a model's matrix multiplications (set <c>model.Precision</c> on a
/// <see cref="MaskedAutoencoder"/> or a <see cref="VitClassifier"/>).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<Precision>))]   // "fp32" / "bf16" in config.json, as the command line spells them
public enum Precision
{
    /// <summary>Everything in float32: the official numerics, bit for bit the default.</summary>
    [JsonStringEnumMemberName("fp32")] Fp32,
    /// <summary>
    /// bfloat16 mixed precision, what <c>torch.autocast("cpu", dtype=torch.bfloat16)</c> does for these models:
    /// the patch-embedding convolution, the linear layers (qkv, proj, fc1, fc2, decoder_embed, decoder_pred),
    /// GELU and attention run in bfloat16 (libtorch's bf16 matrix kernels accumulate in float32; attention is
    /// softmax(q·kᵀ·scale)·v with two bf16 batched products and a softmax that sums in float32, see
    /// <see cref="MixedPrecision.Attention"/>); parameters stay float32 and are cast inside forward,
    /// so gradients arrive in float32 at the float32 parameters and the optimizer state stays float32.
    /// LayerNorm, the residual stream, masking, position embeddings, the loss and every reduction stay float32;
    /// <c>pred</c>, <c>latent</c> and encoder features come back as float32.
    /// </summary>
    [JsonStringEnumMemberName("bf16")] Bf16,
}

// MetaSubstitutes: the ops libtorch's C++ build cannot run on the meta device, each as an arithmetically equivalent composition that can.
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>
/// libtorch's meta device runs an op only where a meta kernel is registered; its C++ build lacks some that PyTorch registers
/// in Python (layer_norm, convolution, var, flip, and where, which scaled_dot_product_attention's softmax uses).
/// On a meta tensor these calls compute the same function from ops that have meta kernels (mean, mul, rsqrt, reshape, linear,
/// matmul, softmax, gather), so the device test can run the whole model; on every other device they call the real op, unchanged.
/// tests/MaeDsl.Tests/Model/MetaSubstitutesTests checks each composition against the real op on the CPU.
/// </summary>
internal static class MetaSubstitutes
{
    /// <summary><paramref name="norm"/>.forward(x); on meta, (x − mean) · rsqrt(var + eps) · weight + bias over the last dimension.</summary>
    public static Tensor LayerNorm(LayerNorm norm, Tensor x) =>
        Devices.IsMeta(x) ? ComposedLayerNorm(x, norm.weight!, norm.bias, MaeSpec.LayerNormEps) : norm.forward(x);

    /// <summary>LayerNorm over the last dimension from mean, mul and rsqrt (the biased variance, as layer_norm uses).</summary>
    public static Tensor ComposedLayerNorm(Tensor x, Tensor weight, Tensor? bias, double eps)
    {
        using var scope = NewDisposeScope();
        var centred = x - x.mean([-1], keepdim: true);
        var variance = (centred * centred).mean([-1], keepdim: true);
        var y = centred * (variance + eps).rsqrt() * weight;
        if (bias is not null) y = y + bias;
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>scaled_dot_product_attention(q, k, v); on meta (whose _safe_softmax needs where.self_out), softmax(q·kᵀ / √d)·v.</summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v) =>
        Devices.IsMeta(q) ? ComposedAttention(q, k, v) : nn.functional.scaled_dot_product_attention(q, k, v);

    /// <summary>softmax(q·kᵀ / √head_dim)·v from matmul and softmax, for q, k, v [..., N, head_dim].</summary>
    public static Tensor ComposedAttention(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(q.shape[^1]);
        return scores.softmax(-1).matmul(v).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="x"/>.flip(0), the batch in reverse order (mixup's partner images); on meta a gather of the reversed indices.</summary>
    public static Tensor FlipBatch(Tensor x) => Devices.IsMeta(x) ? ComposedFlipBatch(x) : x.flip(0);

    /// <summary>The batch in reverse order from a gather (flip has no meta kernel in libtorch's C++ build).</summary>
    public static Tensor ComposedFlipBatch(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
        shape[0] = x.shape[0];
        var reversed = arange(x.shape[0] - 1, -1, -1, dtype: ScalarType.Int64, device: x.device).reshape(shape).expand(x.shape);
        return x.gather(0, reversed).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="x"/>.var(-1, unbiased: true, keepdim: true); on meta, Σ(x − mean)² / (n − 1).</summary>
    public static Tensor UnbiasedVariance(Tensor x) =>
        Devices.IsMeta(x) ? ComposedUnbiasedVariance(x) : x.var(-1, unbiased: true, keepdim: true);

    /// <summary>The unbiased variance over the last dimension (kept) from mean, mul and sum.</summary>
    public static Tensor ComposedUnbiasedVariance(Tensor x)
    {
        using var scope = NewDisposeScope();
        var centred = x - x.mean([-1], keepdim: true);
        return ((centred * centred).sum([-1], keepdim: true) / (x.shape[^1] - 1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The p×p stride-p convolution of the patch embedding, [B, C, H, W] → [B, W', H/p, W/p], as a linear map of the patches
    /// (each in the weight's (C, p, p) order). Called on meta only; on other devices conv2d runs.
    /// </summary>
    public static Tensor ComposedPatchConv(Tensor images, Tensor weight, Tensor? bias, long patchSize)
    {
        using var scope = NewDisposeScope();
        long b = images.shape[0], c = images.shape[1], gh = images.shape[2] / patchSize, gw = images.shape[3] / patchSize, width = weight.shape[0];
        var patches = images.reshape(b, c, gh, patchSize, gw, patchSize).permute(0, 2, 4, 1, 3, 5).reshape(b, gh * gw, c * patchSize * patchSize);
        var tokens = nn.functional.linear(patches, weight.reshape(width, -1), bias);                 // [B, L, W']
        return tokens.transpose(1, 2).reshape(b, width, gh, gw).MoveToOuterDisposeScope();
    }
}

// MixedPrecision: the casts behind Precision.Bf16, through which each matmul-bearing layer goes.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MaeDsl;

/// <summary>The casts behind <see cref="Precision.Bf16"/>: each matmul-bearing layer goes through here.</summary>
internal static class MixedPrecision
{
    /// <summary>The layer itself in <see cref="Precision.Fp32"/>; else input, weight and bias cast to bfloat16 (with autograd) and a bfloat16 result.</summary>
    public static Tensor Linear(Linear layer, Tensor input, Precision precision)
    {
        if (precision == Precision.Fp32) return layer.forward(input);
        using var scope = NewDisposeScope();
        var result = functional.linear(ToBf16(input), layer.weight!.to(bfloat16), layer.bias?.to(bfloat16));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>A p×p stride-p convolution (the patch embedding) in the given precision.</summary>
    public static Tensor PatchConv(Conv2d layer, Tensor images, long patchSize, Precision precision)
    {
        if (Devices.IsMeta(images)) return MetaPatchConv(layer, images, patchSize, precision);
        if (precision == Precision.Fp32) return layer.forward(images);
        using var scope = NewDisposeScope();
        var result = functional.conv2d(ToBf16(images), layer.weight!.to(bfloat16), layer.bias?.to(bfloat16),
            strides: [patchSize, patchSize]);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The patch convolution on libtorch's meta device, which has no convolution kernel (see <see cref="MetaSubstitutes"/>).</summary>
    static Tensor MetaPatchConv(Conv2d layer, Tensor images, long patchSize, Precision precision)
    {
        using var scope = NewDisposeScope();
        bool bf16 = precision != Precision.Fp32;
        var result = MetaSubstitutes.ComposedPatchConv(bf16 ? ToBf16(images) : images, bf16 ? layer.weight!.to(bfloat16) : layer.weight!,
            bf16 ? layer.bias?.to(bfloat16) : layer.bias, patchSize);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// softmax(q·kᵀ / sqrt(head_dim))·v for bfloat16 q, k, v [B, heads, N, head_dim]: two bfloat16 batched products
    /// and a softmax that reads and writes bfloat16 and accumulates in float32. On this CPU it is faster than
    /// libtorch's fused bfloat16 scaled_dot_product_attention at ViT shapes (tests/MaeDsl.Benchmarks `attention`).
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        using var scale = (1.0 / Math.Sqrt(q.shape[^1])).ToScalar();              // held until the op has run (a Scalar is freed by its finalizer)
        var scaled = q.mul(scale);
        var probabilities = scaled.matmul(k.transpose(-2, -1)).softmax(-1);      // [B, heads, N, N]
        return probabilities.matmul(v).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Sets <paramref name="precision"/> on a model the training loop runs (<see cref="MaeDsl.Training.RunOptions.Precision"/>): a
    /// <see cref="MaskedAutoencoder"/> or a <see cref="VitClassifier"/>; any other module only in <see cref="Precision.Fp32"/>.
    /// </summary>
    public static void Apply(Module model, Precision precision)
    {
        switch (model)
        {
            case MaskedAutoencoder mae: mae.Precision = precision; break;
            case VitClassifier classifier: classifier.Precision = precision; break;
            default:
                if (precision != Precision.Fp32)
                    throw new NotSupportedException($"{model.GetType().Name}: {precision} is implemented for MaskedAutoencoder and VitClassifier only");
                break;
        }
    }

    /// <summary>"fp32" or "bf16", as the command line and config.json spell it.</summary>
    public static string Name(Precision precision) => precision == Precision.Bf16 ? "bf16" : "fp32";

    /// <summary>Sets <paramref name="precision"/> on every patch embedding and transformer block below <paramref name="root"/>; returns it.</summary>
    public static Precision Propagate(Module root, Precision precision)
    {
        foreach (var module in root.modules())
        {
            if (module is PatchEmbed patchEmbed) patchEmbed.Precision = precision;
            else if (module is Block block) block.Precision = precision;
        }
        return precision;
    }

    /// <summary>A bfloat16 tensor with the values of <paramref name="t"/> (a new handle, to dispose, even when already bfloat16).</summary>
    static Tensor ToBf16(Tensor t) => t.dtype == ScalarType.BFloat16 ? t.alias() : t.to(bfloat16);
}

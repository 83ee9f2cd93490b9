// Init: the official weight initialisations with explicit generators (TorchSharp's nn.init ignores them).
using MaeDsl.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>
/// The official initialisations, drawn from an explicit generator. TorchSharp 0.107's own
/// <c>nn.init</c> ignores its generator argument, <c>trunc_normal_</c> fills a constant and
/// <c>xavier_normal_</c> draws uniform values, so these are written out here. Each fill runs in
/// <see cref="NoGcDuringTorch"/> (model construction is torch work like any other).
/// </summary>
internal static class Init
{
    /// <summary>xavier_uniform_: U(−a, a) with a = sqrt(6 / (fan_in + fan_out)) for a [out, in, ...] weight.</summary>
    public static void XavierUniform(Tensor weight, Generator? generator)
    {
        long fanOut = weight.shape[0];
        long fanIn = weight.numel() / fanOut;
        double bound = Math.Sqrt(6.0 / (fanIn + fanOut));
        Uniform(weight, -bound, bound, generator);
    }

    /// <summary>U(low, high) in place.</summary>
    public static void Uniform(Tensor tensor, double low, double high, Generator? generator)
    {
        NoGcDuringTorch.Run(() =>
        {
            using var _ = no_grad();
            using var u = rand(tensor.shape, dtype: tensor.dtype, generator: generator);
            tensor.copy_(u.mul_(high - low).add_(low));
        });
    }

    /// <summary>normal_(mean, std) in place.</summary>
    public static void Normal(Tensor tensor, double std, Generator? generator, double mean = 0)
    {
        NoGcDuringTorch.Run(() =>
        {
            using var _ = no_grad();
            using var n = randn(tensor.shape, dtype: tensor.dtype, generator: generator);
            tensor.copy_(n.mul_(std).add_(mean));
        });
    }

    /// <summary>
    /// trunc_normal_(mean, std, a, b) in place, as timm's: N(mean, std²) restricted to [a, b]
    /// (absolute bounds, default ±2), drawn by inverting the normal CDF.
    /// </summary>
    public static void TruncNormal(Tensor tensor, double std, Generator? generator, double mean = 0, double a = -2, double b = 2)
    {
        NoGcDuringTorch.Run(() =>
        {
            static double Cdf(double x) => (1 + Erf(x / Math.Sqrt(2))) / 2;
            double low = Cdf((a - mean) / std), high = Cdf((b - mean) / std);
            using var _ = no_grad();
            using var u = rand(tensor.shape, dtype: tensor.dtype, generator: generator);
            using var v = u.mul_(2 * high - 2 * low).add_(2 * low - 1).erfinv_().mul_(std * Math.Sqrt(2)).add_(mean).clamp_(a, b);
            tensor.copy_(v);
        });
    }

    /// <summary>Constant fill in place (LayerNorm weight 1 / bias 0, Linear bias 0).</summary>
    public static void Constant(Tensor tensor, double value)
    {
        NoGcDuringTorch.Run(() =>
        {
            using var _ = no_grad();
            tensor.fill_(value);
        });
    }

    /// <summary>
    /// The official initialisation of a ViT's parts: the patch projection xavier_uniform as [out, in·p·p]
    /// with PyTorch's default Conv2d bias U(±1/sqrt(fan_in)), which the official code keeps; every Linear
    /// xavier_uniform with zero bias; every LayerNorm weight 1, bias 0. The <paramref name="tokens"/>
    /// (cls and mask tokens) are drawn normal(0.02) between the projection and the modules.
    /// </summary>
    public static void Vit(PatchEmbed patchEmbed, Tensor[] tokens, IEnumerable<TorchSharp.torch.nn.Module?> modules, Generator generator)
    {
        NoGcDuringTorch.Run(() =>
        {
            var proj = patchEmbed.Projection;
            XavierUniform(proj.weight!, generator);
            long fanIn = proj.weight!.numel() / proj.weight.shape[0];
            Uniform(proj.bias!, -1 / Math.Sqrt(fanIn), 1 / Math.Sqrt(fanIn), generator);
            foreach (var token in tokens) Normal(token, 0.02, generator);
            foreach (var module in modules)
            {
                if (module is TorchSharp.Modules.Linear linear)
                {
                    XavierUniform(linear.weight!, generator);
                    Constant(linear.bias!, 0);
                }
                else if (module is TorchSharp.Modules.LayerNorm layerNorm)
                {
                    Constant(layerNorm.weight!, 1);
                    Constant(layerNorm.bias!, 0);
                }
            }
        });
    }

    static double Erf(double x)
    {
        using var t = tensor(x, float64);
        using var e = special.erf(t);
        return e.item<double>();
    }
}

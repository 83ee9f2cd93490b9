using System.Runtime.InteropServices;

namespace MaeDsl.Tests.Model;

/// <summary>
/// The premise of the meta-device test and its substitutes: meta refuses a CPU operand in an elementwise op; each composition
/// MetaSubstitutes runs on meta computes, on the CPU, what the real op computes (same shape, dtype and device, values within
/// float32 rounding), and off meta the dispatching calls are the real op, bit for bit. The pieces that stay off meta (the linear
/// probe's BatchNorm1d) run on the CPU with a device check; LARS runs on meta.
/// </summary>
public class MetaSubstitutesTests
{
    static readonly Device Meta = new(DeviceType.META);

    public MetaSubstitutesTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    static void AssertSameFunction(Tensor expected, Tensor actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.device_type, actual.device_type);
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff <= tolerance, $"largest difference {diff:G3} > {tolerance:G3}");
    }

    static bool BitEqual(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void Meta_refuses_an_elementwise_op_with_a_CPU_tensor()
    {
        using var onMeta = empty(new long[] { 2, 3 }, device: Meta);
        using var onCpu = ones(2, 3);
        var e = Assert.Throws<ExternalException>(() => onMeta + onCpu);
        Assert.Contains("same device", e.Message);
    }

    [Fact]
    public void Each_composition_computes_the_real_op_on_the_CPU_and_runs_on_meta()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        var x = randn(new long[] { 2, 5, 16 }, generator: g);
        var norm = nn.LayerNorm(16, eps: MaeSpec.LayerNormEps);
        using (no_grad()) { norm.weight!.normal_(1, 0.1, generator: g); norm.bias!.normal_(0, 0.1, generator: g); }
        AssertSameFunction(norm.forward(x), MetaSubstitutes.ComposedLayerNorm(x, norm.weight!, norm.bias, MaeSpec.LayerNormEps));
        Assert.True(BitEqual(norm.forward(x), MetaSubstitutes.LayerNorm(norm, x)));

        var images = randn(new long[] { 2, 3, 16, 16 }, generator: g);
        var conv = nn.Conv2d(3, 8, kernel_size: 4, stride: 4);
        AssertSameFunction(conv.forward(images), MetaSubstitutes.ComposedPatchConv(images, conv.weight!, conv.bias, 4));
        Assert.True(BitEqual(conv.forward(images), MixedPrecision.PatchConv(conv, images, 4, Precision.Fp32)));

        long[] heads = [2, 4, 5, 8];
        var (q, k, v) = (randn(heads, generator: g), randn(heads, generator: g), randn(heads, generator: g));
        AssertSameFunction(nn.functional.scaled_dot_product_attention(q, k, v), MetaSubstitutes.ComposedAttention(q, k, v));
        Assert.True(BitEqual(nn.functional.scaled_dot_product_attention(q, k, v), MetaSubstitutes.Attention(q, k, v)));

        Assert.True(BitEqual(images.flip(0), MetaSubstitutes.ComposedFlipBatch(images)));
        Assert.True(BitEqual(images.flip(0), MetaSubstitutes.FlipBatch(images)));

        AssertSameFunction(x.var(-1, unbiased: true, keepdim: true), MetaSubstitutes.ComposedUnbiasedVariance(x));
        Assert.True(BitEqual(x.var(-1, unbiased: true, keepdim: true), MetaSubstitutes.UnbiasedVariance(x)));

        norm.to(Meta);
        conv.to(Meta);
        var (mx, mimages, mq) = (x.to(Meta), images.to(Meta), q.to(Meta));
        foreach (var (name, t, shape) in new[]
        {
            ("layer_norm", MetaSubstitutes.LayerNorm(norm, mx), new long[] { 2, 5, 16 }),
            ("patch conv", MixedPrecision.PatchConv(conv, mimages, 4, Precision.Fp32), [2, 8, 4, 4]),
            ("patch conv bf16", MixedPrecision.PatchConv(conv, mimages, 4, Precision.Bf16), [2, 8, 4, 4]),
            ("attention", MetaSubstitutes.Attention(mq, mq, mq), [2, 4, 5, 8]),
            ("var", MetaSubstitutes.UnbiasedVariance(mx), [2, 5, 1]),
            ("flip", MetaSubstitutes.FlipBatch(mimages), [2, 3, 16, 16]),
        })
        {
            Assert.True(Devices.IsMeta(t), $"{name} is on {t.device}");
            Assert.Equal(shape, t.shape);
        }
    }

    [Fact]
    public void Lars_steps_on_meta_and_the_linear_probe_head_keeps_its_device_on_the_CPU()
    {
        using var scope = NewDisposeScope();
        var linear = nn.Linear(8, 3);
        linear.to(Meta);
        using var lars = new Lars(linear.parameters(), lr: 0.1, weightDecay: 0.05);
        linear.forward(empty(new long[] { 4, 8 }, device: Meta)).sum().backward();
        lars.step();
        Assert.All(linear.parameters(), p => Assert.True(Devices.IsMeta(p)));

        // BatchNorm1d has no meta kernel in libtorch's C++ build: the probe's step runs on the CPU, every tensor on the model's device
        var options = new LinearProbeOptions
        {
            NumClasses = 3, Run = new RunOptions { BatchSize = 4, Device = "cpu", TensorBoard = false, OutputDir = Path.GetTempPath() },
        };
        using var model = LinearProbe.CreateModel(FineTune.FineTunerTests.Tiny, options, seed: 1);
        using var probe = new LinearProbe(model, options);
        var loss = probe.TrainingLoss(rand(4, 1, 16, 16), tensor(new long[] { 0, 1, 2, 0 }), 0, 0);
        loss.backward();
        probe.Optimizer.step();
        Assert.Equal(probe.Device.type, loss.device_type);
        Assert.All(model.parameters(), p => Assert.Equal(probe.Device.type, p.device_type));
        Assert.All(model.buffers(), b => Assert.Equal(probe.Device.type, b.device_type));
    }

    [SkippableFact]
    public void Devices_resolve_cpu_auto_and_refuse_cuda_without_it_in_one_line()
    {
        Assert.Equal(DeviceType.CPU, Devices.Resolve("cpu").type);
        Assert.Equal(DeviceType.META, Devices.Resolve("meta").type);
        var bad = Assert.Throws<InvalidOptionException>(() => Devices.Resolve("gpu"));
        Assert.Equal("--device gpu is invalid: expected cpu, cuda, cuda:N or auto", bad.Message);
        Assert.Throws<InvalidOptionException>(() => Devices.Resolve("cuda:x"));
        Skip.If(cuda.is_available(), "libtorch reports CUDA here: the no-CUDA refusal cannot be checked");
        Assert.Equal(DeviceType.CPU, Devices.Resolve("auto").type);
        foreach (var text in new[] { "cuda", "cuda:1" })
        {
            var e = Assert.Throws<InvalidOptionException>(() => Devices.Resolve(text));
            Assert.StartsWith($"--device {text}: this libtorch has no CUDA device", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }
}

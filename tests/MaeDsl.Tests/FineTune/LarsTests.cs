using MaeDsl.Training;
using TorchSharp.Modules;

namespace MaeDsl.Tests.FineTune;

public class LarsTests
{
    public LarsTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    static float[] Values(Tensor t) => t.detach().contiguous().data<float>().ToArray();

    [Fact]
    public void TwoStepsMatchTheHandComputedUpdate()
    {
        // W = [[3, 4]] (‖W‖ = 5), b = [1, 2]; lr 10, weight decay 0.2, momentum 0.9, trust 0.001.
        var w = new Parameter(torch.tensor(new float[] { 3, 4 }).reshape(1, 2));
        var b = new Parameter(torch.tensor(new float[] { 1, 2 }));
        using var lars = new Lars(new[] { w, b }, lr: 10, weightDecay: 0.2);

        // Step 1. W's gradient is 0, so d = 0.2·W = [0.6, 0.8], ‖d‖ = 1, q = 0.001·5/1 = 0.005, d = [0.003, 0.004];
        // mu = d; W = W − 10·mu = [2.97, 3.96]. b: no decay, no trust scaling: mu = grad = [0.5, −1], b = [−4, 12].
        w.grad = torch.zeros(1, 2);
        b.grad = torch.tensor(new float[] { 0.5f, -1f });
        lars.step();
        Assert.Equal(new[] { 2.97, 3.96 }, Values(w).Select(v => Math.Round(v, 5)));
        Assert.Equal(new[] { -4.0, 12.0 }, Values(b).Select(v => Math.Round(v, 5)));

        // Step 2. grad(W) = [0.6, 0.8] − 0.2·W = [0.006, 0.008], so d = grad + 0.2·W = [0.6, 0.8], ‖d‖ = 1;
        // ‖W‖ = 0.99·5 = 4.95, q = 0.00495, d = [0.00297, 0.00396]; mu = 0.9·[0.003, 0.004] + d = [0.00567, 0.00756];
        // W = [2.97, 3.96] − 10·mu = [2.9133, 3.8844]. b: grad 0 → mu = 0.9·[0.5, −1] = [0.45, −0.9]; b = [−4, 12] − 10·mu = [−8.5, 21].
        w.grad = torch.tensor(new float[] { 0.6f - 0.2f * 2.97f, 0.8f - 0.2f * 3.96f }).reshape(1, 2);
        b.grad = torch.zeros(2);
        lars.step();
        var wv = Values(w);
        Assert.Equal(2.9133, wv[0], 4);
        Assert.Equal(3.8844, wv[1], 4);
        Assert.Equal(new[] { -8.5, 21.0 }, Values(b).Select(v => Math.Round(v, 4)));
        Assert.Equal(new[] { 0.45, -0.9 }, Values(lars.MomentumBuffer(b)!).Select(v => Math.Round(v, 5)));
    }

    [Fact]
    public void AZeroWeightIsNotTrustScaled()
    {
        // ‖W‖ = 0 → q = 1: the update is the plain gradient.
        var w = new Parameter(torch.zeros(2, 2));
        using var lars = new Lars(new[] { w }, lr: 0.5, weightDecay: 0.1);
        w.grad = torch.ones(2, 2);
        lars.step();
        Assert.All(Values(w), v => Assert.Equal(-0.5, v, 6));
    }

    [Fact]
    public void ParametersWithoutGradientAreSkippedAndLrIsPerGroup()
    {
        var w = new Parameter(torch.ones(2, 2));
        var frozen = new Parameter(torch.ones(3));
        using var lars = new Lars(new[] { w, frozen }, lr: 1.0);
        foreach (var g in lars.ParamGroups) g.LearningRate = 0.1;
        w.grad = torch.full(new long[] { 2, 2 }, 0.5f); // ‖W‖ = 2, ‖g‖ = 1 → q = 0.002 → Δ = 0.1·0.001 = 1e-4
        lars.step();
        Assert.All(Values(w), v => Assert.Equal(1 - 1e-4, v, 7));
        Assert.All(Values(frozen), v => Assert.Equal(1.0, v));
        Assert.Null(lars.MomentumBuffer(frozen));
    }
}

// The raw-pixel logistic regression of the results command on linearly separable synthetic data.
using static TorchSharp.torch;

namespace MaeDsl.Cli.Tests;

public class PixelLogisticRegressionTests
{
    /// <summary>n images [n, 1, 4, 4] of 5 classes: class c lights up pixel c by 10 (plus noise), so a linear model separates them.</summary>
    static (Tensor X, Tensor Y) Separable(int n, long seed)
    {
        var g = new Generator((ulong)seed);
        var y = randint(0, 5, [n], dtype: ScalarType.Int64, generator: g);
        var x = 0.1f * randn([n, 16], generator: g);
        x.index_put_(x[arange(n), y] + 10f, arange(n), y);
        return (x.reshape(n, 1, 4, 4), y);
    }

    [Fact]
    public void Separates_linearly_separable_classes()
    {
        var (x, y) = Separable(2000, 1);
        var (xt, yt) = Separable(200, 2);
        var (top1, top5, epochs) = PixelLogisticRegression.Fit(x, y, xt, yt, numClasses: 5, seed: 0, epochs: 30);
        Assert.Equal(30, epochs);
        Assert.True(top1 >= 95.0, $"top-1 {top1}% on separable data");
        Assert.Equal(100.0, top5);
    }

    [Fact]
    public void Is_deterministic_in_its_seed()
    {
        var (x, y) = Separable(300, 3);
        var (xt, yt) = Separable(100, 4);
        // two epochs: not converged, so a different initialisation or order would show
        var a = PixelLogisticRegression.Fit(x, y, xt, yt, 5, seed: 7, epochs: 1);
        var b = PixelLogisticRegression.Fit(x, y, xt, yt, 5, seed: 7, epochs: 1);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Rejects_zero_epochs()
    {
        var (x, y) = Separable(10, 5);
        Assert.Throws<ArgumentException>(() => PixelLogisticRegression.Fit(x, y, x, y, 5, seed: 0, epochs: 0));
    }
}

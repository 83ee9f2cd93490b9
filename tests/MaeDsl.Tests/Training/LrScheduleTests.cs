using MaeDsl.Training;

namespace MaeDsl.Tests.Training;

public class LrScheduleTests
{
    // The official ViT-L recipe: blr 1.5e-4, effective batch 4096 → lr 2.4e-3; 40 warmup epochs of 800.
    static readonly LrSchedule Official = new(LrSchedule.AbsoluteLr(1.5e-4, 4096), MinLr: 0, WarmupEpochs: 40, Epochs: 800);

    [Fact]
    public void AbsoluteLrIsBlrTimesEffectiveBatchOver256()
    {
        Assert.Equal(2.4e-3, LrSchedule.AbsoluteLr(1.5e-4, 4096), 15);
        Assert.Equal(1.5e-4 * 64 * 4 / 256, LrSchedule.AbsoluteLr(1.5e-4, 64 * 4), 15);
    }

    [Fact]
    public void FractionalEpochIsStepOverLengthPlusEpoch()
    {
        Assert.Equal(2.25, LrSchedule.FractionalEpoch(epoch: 2, dataIterStep: 50, stepsPerEpoch: 200));
        Assert.Equal(0.0, LrSchedule.FractionalEpoch(0, 0, 7));
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(10.0, 6.0e-4)]          // 2.4e-3 × 10 / 40
    [InlineData(20.0, 1.2e-3)]
    [InlineData(39.5, 2.37e-3)]         // 2.4e-3 × 39.5 / 40
    [InlineData(40.0, 2.4e-3)]          // cosine starts at the peak
    [InlineData(420.0, 1.2e-3)]         // half way through the cosine: cos(π/2) = 0
    [InlineData(230.0, 2.048528137423857e-3)]   // 2.4e-3 × 0.5 × (1 + cos(π/4))
    [InlineData(610.0, 3.514718625761429e-4)]   // 2.4e-3 × 0.5 × (1 + cos(3π/4))
    [InlineData(800.0, 0.0)]
    public void MatchesHandComputedValues(double epoch, double expected) =>
        Assert.Equal(expected, Official.At(epoch), 12);

    [Fact]
    public void CosineEndsAtMinLr()
    {
        var s = new LrSchedule(1e-3, MinLr: 1e-5, WarmupEpochs: 1, Epochs: 11);
        Assert.Equal(1e-5, s.At(11), 15);
        Assert.Equal(1e-5 + (1e-3 - 1e-5) * 0.5, s.At(6), 15);
    }

    [Fact]
    public void ApplySetsEveryGroupsLr()
    {
        using var model = torch.nn.Linear(3, 2);
        using var optimizer = WeightDecay.CreateOptimizer(model, lr: 5e-4, weightDecay: 0.05);
        double lr = Official.Apply(optimizer, 20.0);
        Assert.Equal(1.2e-3, lr, 15);
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(1.2e-3, g.LearningRate, 15));
    }

    [Fact]
    public void AWarmupLongerThanTheRunRisesForTheWholeRunAsUtilLrSched()
    {
        var s = new LrSchedule(1e-3, 0, WarmupEpochs: 5, Epochs: 1);   // finetune --epochs 1 with main_finetune.py's warmup 5
        Assert.Equal(0, s.At(0));
        Assert.Equal(1e-3 * 0.5 / 5, s.At(0.5), 15);
        Assert.Equal(1e-3 * 0.999 / 5, s.At(0.999), 15);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LrSchedule(1e-3, 0, WarmupEpochs: -1, Epochs: 10));
        Assert.Contains("warmup", e.Message);
    }
}

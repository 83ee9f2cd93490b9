using MaeDsl.Evaluation;

namespace MaeDsl.Tests.FineTune;

public class AccuracyTests
{
    public AccuracyTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    [Fact]
    public void TopOneAndTopFiveCountHand()
    {
        // 3 samples, 6 classes. Sample 0: label ranked 1st; sample 1: ranked 5th; sample 2: ranked 6th (last).
        var logits = torch.tensor(new float[]
        {
            9, 1, 2, 3, 4, 5,
            6, 5, 4, 3, 2, 1,   // label 4 → 5th
            1, 2, 3, 4, 5, 0,   // label 5 → last
        }).reshape(3, 6);
        var labels = torch.tensor(new long[] { 0, 4, 5 });
        var (t1, t5) = Accuracy.CorrectCounts(logits, labels);
        Assert.Equal(1, t1);
        Assert.Equal(2, t5);
        var meter = new AccuracyMeter();
        meter.Add(logits, labels, meanLoss: 2.0);
        meter.Add(logits[..1], labels[..1], meanLoss: 1.0);
        Assert.Equal(50.0, meter.Top1, 10);
        Assert.Equal(75.0, meter.Top5, 10);
        Assert.Equal(7.0 / 4, meter.Loss, 10);
    }

    [Fact]
    public void FewerThanFiveClassesCapsK()
    {
        var logits = torch.tensor(new float[] { 0, 1, 1, 0 }).reshape(2, 2);
        var (t1, t5) = Accuracy.CorrectCounts(logits, torch.tensor(new long[] { 0, 0 }));
        Assert.Equal(1, t1);
        Assert.Equal(2, t5);
    }
}

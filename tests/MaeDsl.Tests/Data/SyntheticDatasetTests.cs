using MaeDsl.Data;

namespace MaeDsl.Tests.Data;

public class SyntheticDatasetTests
{
    [Fact]
    public void Deterministic_balanced_in_range_any_channel_count()
    {
        var a = new SyntheticDataset(40, channels: 3, height: 20, width: 24, numClasses: 8, seed: 4);
        var b = new SyntheticDataset(40, channels: 3, height: 20, width: 24, numClasses: 8, seed: 4);
        var c = new SyntheticDataset(40, channels: 3, height: 20, width: 24, numClasses: 8, seed: 5);
        Assert.Equal(a.Get(17).Image.Data, b.Get(17).Image.Data);
        Assert.NotEqual(a.Get(17).Image.Data, c.Get(17).Image.Data);
        Assert.All(Enumerable.Range(0, 8), k => Assert.Equal(5, Enumerable.Range(0, 40).Count(i => a.GetLabel(i) == k)));
        var (image, label) = a.Get(9);
        Assert.Equal((3, 20, 24, 1), (image.Channels, image.Height, image.Width, label));
        Assert.All(image.Data, v => Assert.InRange(v, 0f, 1f));
        Assert.Equal(5, new SyntheticDataset(2, channels: 5).Get(1).Image.Channels);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SyntheticDataset(10, numClasses: 9));
    }

    [Fact]
    public void Classes_are_learnable_a_nearest_class_mean_classifier_beats_chance_by_far()
    {
        var train = new SyntheticDataset(400, 1, 16, 16, numClasses: 4, seed: 1);
        var test = new SyntheticDataset(200, 1, 16, 16, numClasses: 4, seed: 2);
        // Features that do not depend on position: mean |horizontal| and |vertical| gradient, mean, fraction bright.
        static double[] Features(FloatImage im)
        {
            double gx = 0, gy = 0, sum = 0, bright = 0;
            for (int y = 0; y < im.Height; y++)
                for (int x = 0; x < im.Width; x++)
                {
                    if (x > 0) gx += Math.Abs(im[0, y, x] - im[0, y, x - 1]);
                    if (y > 0) gy += Math.Abs(im[0, y, x] - im[0, y - 1, x]);
                    sum += im[0, y, x]; if (im[0, y, x] > 0.5) bright++;
                }
            int n = im.Height * im.Width;
            return [gx / n, gy / n, sum / n, bright / n];
        }
        var means = Enumerable.Range(0, 4).Select(k =>
        {
            var fs = Enumerable.Range(0, train.Count).Where(i => train.GetLabel(i) == k).Select(i => Features(train.Get(i).Image)).ToArray();
            return Enumerable.Range(0, 4).Select(d => fs.Average(f => f[d])).ToArray();
        }).ToArray();
        int correct = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var f = Features(test.Get(i).Image);
            int best = Enumerable.Range(0, 4).MinBy(k => Enumerable.Range(0, 4).Sum(d => Math.Pow(f[d] - means[k][d], 2)));
            if (best == test.GetLabel(i)) correct++;
        }
        Assert.True(correct > 0.8 * test.Count, $"nearest class mean: {correct}/{test.Count}");
    }
}

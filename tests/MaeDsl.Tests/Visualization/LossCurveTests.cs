using MaeDsl.Tests.Data;
using MaeDsl.Visualization;
using SixLabors.ImageSharp;

namespace MaeDsl.Tests.Visualization;

public class LossCurveTests
{
    [Fact]
    public void Writes_a_valid_png_atomically()
    {
        using var dir = new TempDir();
        long[] steps = Enumerable.Range(0, 300).Select(i => (long)i).ToArray();
        double[] losses = steps.Select(s => 1.0 / (1 + s / 30.0) + 0.05 * Math.Sin(s)).ToArray();
        double[] lrs = steps.Select(s => s < 40 ? 1.5e-4 * s / 40 : 1.5e-4 * 0.5 * (1 + Math.Cos(Math.PI * (s - 40) / 260))).ToArray();
        losses[100] = double.NaN;
        string path = LossCurve.Save(Path.Combine(dir.Path, "sub", "loss.png"), steps, losses, lrs, width: 640, height: 400);
        Assert.Equal(Path.Combine(dir.Path, "sub", "loss.png"), path);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        var info = Image.Identify(bytes);
        Assert.Equal((640, 400), (info.Width, info.Height));
        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, "sub")));

        string pairs = LossCurve.Save(Path.Combine(dir.Path, "pairs.png"), [(1L, 2.0), (2L, 1.5), (3L, 1.2)]);
        Assert.True(new FileInfo(pairs).Length > 1000);
    }

    [Fact]
    public void Bad_input_is_named()
    {
        Assert.Contains("3 steps but 2 losses", Assert.Throws<ArgumentException>(() => LossCurve.Save("x.png", [1L, 2, 3], [1.0, 2.0])).Message);
        Assert.Contains("no finite loss", Assert.Throws<ArgumentException>(() => LossCurve.Save("x.png", [1L], [double.NaN])).Message);
    }
}

// `embed`: features as .npy read back by Python's numpy and compared with the runtime's own, as .safetensors, the index
// file, pooling, an encoder-only checkpoint, and every error path as one `error:` line.
using System.Diagnostics;
using System.Globalization;
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Evaluation;
using MaeDsl.IO;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class EmbedCommandTests
{
    static string Python => Environment.GetEnvironmentVariable("MAEDSL_PYTHON") ?? "/usr/bin/python3";

    /// <summary>numpy.load's dtype, shape and values (printed with 9 significant digits: float32 round-trips).</summary>
    static (string Dtype, int[] Shape, float[] Values) NumpyLoad(string npy)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", "import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype); print(*a.shape); print(*['%.9g' % v for v in a.ravel()])", npy })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{Python} could not numpy.load {npy} (install Debian's python3-numpy, which python3-torch brings, or set MAEDSL_PYTHON): {error}");
        var lines = output.Split('\n');
        return (lines[0].Trim(), lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray(),
            lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray());
    }

    /// <summary>The runtime's own features of the images, as the command prepares them.</summary>
    static float[] RuntimeFeatures(string weights, string model, string images, FeaturePool pool)
    {
        using var mae = MaeModels.Find(model).Create(0);
        StateDicts.Load(mae, weights, strict: false);
        var inputs = ImageInputs.Open(images, "fashion-mnist", null, mae.Spec.ImageSize, mae.Spec.Channels, null, "train", null, 0);
        var loader = new BatchLoader(inputs.Images, 100, inputs.Transform, shuffle: false, dropLast: false, workers: 1);
        var all = new List<float>();
        foreach (var b in loader.Epoch(0)) using (b) all.AddRange(Features.Compute(mae, b.Images, pool));
        return all.ToArray();
    }

    [Fact]
    public void Npy_features_read_by_numpy_equal_the_runtimes_own()
    {
        using var dir = new TempDir();
        string images = Path.Combine(dir.Path, "images");
        var files = Synthetic.Images(images, 7);
        string weights = Synthetic.Weights(Path.Combine(dir.Path, "tiny.safetensors"), "tiny");
        string output = Path.Combine(dir.Path, "out", "features.npy");
        var r = CliConsole.Run(["embed", "--checkpoint", weights, "--model", "tiny", "--images", images, "--batch", "3", "--threads", "1", "--precision", "fp32", "--output", output]);   // fp32: the runtime's own features
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal($"output: {output}", r.OutLines[^1]);
        Assert.Contains("embedded 7/7 images", r.Out);

        var (dtype, shape, values) = NumpyLoad(output);
        Assert.Equal("float32", dtype);
        Assert.Equal([7, 64], shape);
        Assert.Equal(RuntimeFeatures(weights, "tiny", images, FeaturePool.Cls), values);

        // the index: the images in the same order
        var index = File.ReadAllLines(Path.Combine(dir.Path, "out", "features.index.csv"));
        Assert.Equal("index,image", index[0]);
        Assert.Equal(files.Select((f, i) => $"{i},{f}"), index.Skip(1));
    }

    [Fact]
    public void Safetensors_output_mean_pooling_and_an_encoder_only_checkpoint()
    {
        using var dir = new TempDir();
        string images = Path.Combine(dir.Path, "images");
        Synthetic.Images(images, 5, seed: 1);
        string weights = Synthetic.Weights(Path.Combine(dir.Path, "ref.safetensors"), "ref-tiny", seed: 4);
        string encoderOnly = Synthetic.Weights(Path.Combine(dir.Path, "mae_pretrain_ref.pth"), "ref-tiny", withDecoder: false, seed: 4);
        float[] Embed(string checkpoint, string pool, string name)
        {
            string output = Path.Combine(dir.Path, name);
            var r = CliConsole.Run(["embed", "--checkpoint", checkpoint, "--model", "ref-tiny", "--images", images, "--pool", pool, "--threads", "1", "--precision", "fp32", "--output", output]);
            Assert.True(r.ExitCode == 0, r.ToString());
            if (output.EndsWith(".npy")) return NumpyLoad(output).Values;
            var (tensors, _) = StateDicts.ReadSafetensors(output);
            var t = tensors[MatrixFileWriter.SafetensorsName];
            Assert.Equal([5L, 64L], t.shape);
            return t.data<float>().ToArray();
        }
        var mean = Embed(weights, "mean", "mean.safetensors");
        Assert.Equal(RuntimeFeatures(weights, "ref-tiny", images, FeaturePool.Mean), mean);
        Assert.Equal(mean, Embed(weights, "mean", "mean.npy"));
        Assert.Equal(mean, Embed(encoderOnly, "mean", "encoder-only.npy"));         // the decoder is not needed
        Assert.NotEqual(mean, Embed(weights, "cls", "cls.npy"));
        Assert.True(File.Exists(Path.Combine(dir.Path, "mean.index.csv")));
    }

    [Fact]
    public void The_npy_header_is_format_1_0_padded_to_64_bytes()
    {
        var header = MatrixFileWriter.NpyHeader(1000, 768);
        Assert.Equal(0, header.Length % 64);
        Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0], header[..8]);
        Assert.Equal(header.Length - 10, BitConverter.ToUInt16(header, 8));
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 768), }", System.Text.Encoding.ASCII.GetString(header, 10, header.Length - 10));
        Assert.Equal((byte)'\n', header[^1]);
    }

    [Fact]
    public void The_writer_streams_rows_and_leaves_nothing_when_not_completed()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "m.npy");
        using (var w = new MatrixFileWriter(path, 3, 2))
        {
            w.Append([1f, 2f]);
            Assert.Throws<ArgumentException>(() => w.Append([1f]));                     // not a whole row
            Assert.Throws<InvalidOperationException>(() => w.Complete());                // 1 of 3 rows
        }
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(dir.Path));
        using (var w = new MatrixFileWriter(path, 3, 2))
        {
            w.Append([1f, 2f, 3f, 4f]);
            w.Append([5f, 6f]);
            Assert.Throws<InvalidOperationException>(() => w.Append([7f, 8f]));       // beyond the header's N
            w.Complete();
        }
        var (dtype, shape, values) = NumpyLoad(path);
        Assert.Equal("float32", dtype);
        Assert.Equal([3, 2], shape);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], values);
    }

    [Fact]
    public void Errors_are_one_line_and_leave_no_file()
    {
        using var dir = new TempDir();
        string images = Path.Combine(dir.Path, "images");
        Synthetic.Images(images, 2);
        string weights = Synthetic.Weights(Path.Combine(dir.Path, "tiny.pth"), "tiny");
        string output = Path.Combine(dir.Path, "features.npy");
        CliResult Run(params string[] args) => CliConsole.Run(["embed", "--threads", "1", "--output", output, .. args]);

        Synthetic.AssertOneErrorLine(Run("--checkpoint", weights, "--images", images), "--model is required");
        Synthetic.AssertOneErrorLine(Run("--checkpoint", weights, "--model", "tiny-patch7", "--images", images), "--model tiny-patch7: ");
        string broken = Synthetic.Unreadable(Path.Combine(dir.Path, "broken"));
        Synthetic.AssertOneErrorLine(Run("--checkpoint", weights, "--model", "tiny", "--images", broken), "Supported: JPEG");
        Synthetic.AssertOneErrorLine(CliConsole.Run(["embed", "--checkpoint", weights, "--model", "tiny", "--images", images,
            "--output", Path.Combine(Synthetic.ReadOnlyFolder(dir.Path), "f.npy")]), "read-only");
        Synthetic.AssertOneErrorLine(CliConsole.Run(["embed", "--checkpoint", weights, "--model", "tiny", "--images", images,
            "--output", Path.Combine(dir.Path, "f.csv")]), "must end with .npy or .safetensors");
        Synthetic.AssertOneErrorLine(Run("--checkpoint", weights, "--model", "tiny", "--images", Path.Combine(dir.Path, "nothing")), "neither an image file nor a folder");
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }
}

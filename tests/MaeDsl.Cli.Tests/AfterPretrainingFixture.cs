// What the reconstruct, embed and predict tests share: one short pre-training run through MaeCli (the pictures it draws are
// the reference for reconstruct), synthetic images, and the model of the official reference weights.
using MaeDsl;
using MaeDsl.Checkpoints;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Cli.Tests;

/// <summary>The tiny DSL variant whose weights tests/MaeDsl.Tests/Reference holds (made by running the official code).</summary>
[MaeModel(Key = "ref-tiny", Description = "the official code's tiny reference variant (32×32 RGB, patch 8)")]
[Encoder(Depth = 2, Width = 64, Heads = 4)]
[Decoder(Depth = 1, Width = 32, Heads = 4)]
[Image(Size = 32, PatchSize = 8, Channels = 3)]
public partial class MaeTinyOfficialReference;

/// <summary>A short pre-training run of the tiny model (128 Fashion-MNIST images, 1 epoch, seed 3), once for the class.</summary>
public sealed class PretrainedRunFixture : IDisposable
{
    public const long Seed = 3;
    readonly TempDir dir = new("maedsl-after-pretraining");

    public PretrainedRunFixture()
    {
        Output = Path.Combine(dir.Path, "run");
        Pretrain = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "1", "--batch", "64",
            "--seed", Seed.ToString(), "--threads", "1", "--output", Output]);
    }

    public CliResult Pretrain { get; }
    public string Output { get; }
    public string Checkpoint => Path.Combine(Output, "checkpoints", "checkpoint-last.ckpt");
    public string Weights => Path.Combine(Output, "checkpoints", "checkpoint-0000.safetensors");
    public string Grid => Path.Combine(Output, "reconstruction.png");

    public void Dispose() => dir.Dispose();
}

internal static class Synthetic
{
    /// <summary>Writes <paramref name="count"/> PNGs of various sizes and pixel formats (grey, RGB, RGBA) into <paramref name="folder"/>.</summary>
    public static IReadOnlyList<string> Images(string folder, int count, int seed = 0, int? size = null)
    {
        Directory.CreateDirectory(folder);
        var rng = new Random(seed);
        var files = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int w = size ?? 20 + rng.Next(30), h = size ?? 20 + rng.Next(30);
            string file = Path.Combine(folder, $"img{i:D3}.png");
            switch (i % 3)
            {
                case 0:
                    using (var img = new Image<L8>(w, h)) { Fill(img, (x, y) => new L8((byte)rng.Next(256))); img.SaveAsPng(file); }
                    break;
                case 1:
                    using (var img = new Image<Rgb24>(w, h)) { Fill(img, (x, y) => new Rgb24((byte)(x * 7), (byte)(y * 5), (byte)rng.Next(256))); img.SaveAsPng(file); }
                    break;
                default:
                    using (var img = new Image<Rgba32>(w, h)) { Fill(img, (x, y) => new Rgba32((byte)rng.Next(256), (byte)(x * y), 40, (byte)rng.Next(256))); img.SaveAsPng(file); }
                    break;
            }
            files.Add(file);
        }
        return files;
    }

    /// <summary>An ImageFolder root/class/*.png with the given classes (and a sibling 'val' when <paramref name="withVal"/>), images of the class's own brightness.</summary>
    public static string ImageFolder(string root, string[] classes, int perClass, int size, bool withVal)
    {
        foreach (var split in withVal ? new[] { "train", "val" } : ["train"])
            for (int c = 0; c < classes.Length; c++)
            {
                string folder = Path.Combine(root, split, classes[c]);
                Directory.CreateDirectory(folder);
                var rng = new Random(c * 100 + split.Length);
                for (int i = 0; i < perClass; i++)
                {
                    using var img = new Image<Rgb24>(size, size);
                    Fill(img, (x, y) => new Rgb24((byte)(c * 120 + rng.Next(60)), (byte)(x * 4), (byte)(c * 80)));
                    img.SaveAsPng(Path.Combine(folder, $"{i:D3}.png"));
                }
            }
        return Path.Combine(root, "train");
    }

    static void Fill<T>(Image<T> img, Func<int, int, T> pixel) where T : unmanaged, IPixel<T>
    {
        for (int y = 0; y < img.Height; y++)
            for (int x = 0; x < img.Width; x++)
                img[x, y] = pixel(x, y);
    }

    /// <summary>A file with an image extension that is not an image.</summary>
    public static string Unreadable(string folder)
    {
        Directory.CreateDirectory(folder);
        string file = Path.Combine(folder, "broken.png");
        File.WriteAllText(file, "this is not a PNG");
        return file;
    }

    /// <summary>A tiny model's weights as .safetensors without metadata (names no model), or as a flat .pth, optionally without the decoder.</summary>
    public static string Weights(string path, string model, bool withDecoder = true, long seed = 1)
    {
        using var m = MaeModels.Find(model).Create(seed);
        var sd = m.state_dict().Where(kv => withDecoder || !(kv.Key.StartsWith("decoder_") || kv.Key == "mask_token"));
        if (path.EndsWith(".safetensors")) StateDicts.WriteSafetensors(path, sd);
        else StateDicts.WritePth(path, sd);
        return path;
    }

    /// <summary>A read-only folder (mode 0555; the commands check the permission bits, so that this holds for root too).</summary>
    public static string ReadOnlyFolder(string parent)
    {
        string folder = Path.Combine(parent, "read-only");
        Directory.CreateDirectory(folder);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the read-only folder is made with Unix permission bits");
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return folder;
    }

    /// <summary>Asserts a failed run: a non-zero exit and exactly one stderr line, "error: …" containing <paramref name="expected"/>.</summary>
    public static void AssertOneErrorLine(CliResult r, string expected)
    {
        Assert.True(r.ExitCode != 0, r.ToString());
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, r.ToString());
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }
}

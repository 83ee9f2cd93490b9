// `reconstruct`: the pre-training run's own grid reproduced pixel for pixel from its checkpoint, K seeded masks, loose images
// of any size and channel count, norm_pix models, and every error path as one `error:` line.
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class ReconstructCommandTests(PretrainedRunFixture run) : IClassFixture<PretrainedRunFixture>
{
    static Rgb24[] Pixels(string png, out int width, out int height)
    {
        using var image = Image.Load<Rgb24>(png);
        (width, height) = (image.Width, image.Height);
        var pixels = new Rgb24[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    static int GridHeight(int rows) => rows * 112 + (rows + 1) * 2;   // 28-px tiles drawn at scale 4, 2-px separators

    [Fact]
    [Trait("Category", "Slow")]
    public void Reconstruct_on_the_pretraining_checkpoint_is_pixel_identical_to_the_runs_own_grid()
    {
        Assert.True(run.Pretrain.ExitCode == 0, run.Pretrain.ToString());
        Assert.True(File.Exists(run.Grid), run.Pretrain.ToString());
        using var dir = new TempDir();
        // the precision the run drew its grid in (auto measures reconstruct's own encode, which may choose the other one)
        string precision = PrecisionCommandTests.RecordedPrecision(Path.GetDirectoryName(run.Grid)!);
        foreach (var checkpoint in new[] { run.Checkpoint, run.Weights })   // the .ckpt and the .safetensors both name the model
        {
            string output = Path.Combine(dir.Path, Path.GetExtension(checkpoint).TrimStart('.') + ".png");
            var r = CliConsole.Run(["reconstruct", "--checkpoint", checkpoint, "--dataset", "fashion-mnist",
                "--seed", PretrainedRunFixture.Seed.ToString(), "--threads", "1", "--precision", precision, "--output", output]);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal($"output: {output}", r.OutLines[^1]);
            Assert.Equal(Pixels(run.Grid, out int w0, out int h0), Pixels(output, out int w1, out int h1));
            Assert.Equal((w0, h0), (w1, h1));
            Assert.Equal(File.ReadAllBytes(run.Grid), File.ReadAllBytes(output));
        }
        // without --seed the checkpoint's own run seed is used: the same picture
        string byDefault = Path.Combine(dir.Path, "default-seed.png");
        var d = CliConsole.Run(["reconstruct", "--checkpoint", run.Checkpoint, "--threads", "1", "--precision", precision, "--output", byDefault]);
        Assert.True(d.ExitCode == 0, d.ToString());
        Assert.Equal(File.ReadAllBytes(run.Grid), File.ReadAllBytes(byDefault));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void K_masks_per_image_are_seeded_rows_and_mask_0_is_the_single_mask()
    {
        Assert.True(run.Pretrain.ExitCode == 0, run.Pretrain.ToString());
        using var dir = new TempDir();
        string Draw(string name, params string[] extra)
        {
            string output = Path.Combine(dir.Path, name);
            var r = CliConsole.Run(["reconstruct", "--checkpoint", run.Checkpoint, "--limit", "2", "--threads", "1", "--output", output, .. extra]);
            Assert.True(r.ExitCode == 0, r.ToString());
            return output;
        }
        string three = Draw("k3.png", "--masks-per-image", "3", "--seed", "5");
        string again = Draw("k3-again.png", "--masks-per-image", "3", "--seed", "5");
        string other = Draw("k3-other.png", "--masks-per-image", "3", "--seed", "6");
        string one = Draw("k1.png", "--seed", "5");
        var p3 = Pixels(three, out int w, out int h);
        Assert.Equal(GridHeight(6), h);                 // 2 images × 3 masks
        Assert.Equal(4 * 112 + 5 * 2, w);
        Assert.Equal(p3, Pixels(again, out _, out _));  // reproducible
        Assert.NotEqual(p3, Pixels(other, out _, out _));
        var p1 = Pixels(one, out _, out int h1);
        Assert.Equal(GridHeight(2), h1);
        int rowPixels = w * (112 + 2);                  // a separator line and a row of tiles
        Assert.Equal(p1.AsSpan(0, rowPixels).ToArray(), p3.AsSpan(0, rowPixels).ToArray());   // image 0, mask 0
        Assert.NotEqual(p3.AsSpan(0, rowPixels).ToArray(), p3.AsSpan(rowPixels, rowPixels).ToArray()); // image 0, mask 1
    }

    [Fact]
    public void Loose_images_of_any_size_and_channels_with_block_masking()
    {
        using var dir = new TempDir();
        Synthetic.Images(Path.Combine(dir.Path, "images"), 4);
        string weights = Synthetic.Weights(Path.Combine(dir.Path, "tiny.safetensors"), "tiny");
        string output = Path.Combine(dir.Path, "out", "grid.png");
        var r = CliConsole.Run(["reconstruct", "--checkpoint", weights, "--model", "tiny", "--images", Path.Combine(dir.Path, "images"),
            "--masking", "block", "--mask-ratio", "0.5", "--threads", "1", "--output", output]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("block masking, ratio 0.5", r.Out);
        Pixels(output, out int w, out int h);
        Assert.Equal((4 * 112 + 5 * 2, GridHeight(4)), (w, h));

        // an RGB model on the same grey, RGB and RGBA files
        string rgb = Synthetic.Weights(Path.Combine(dir.Path, "ref.pth"), "ref-tiny");
        string rgbOut = Path.Combine(dir.Path, "rgb.png");
        var r2 = CliConsole.Run(["reconstruct", "--checkpoint", rgb, "--model", "ref-tiny", "--images", Path.Combine(dir.Path, "images"), "--limit", "3",
            "--threads", "1", "--output", rgbOut]);
        Assert.True(r2.ExitCode == 0, r2.ToString());
        Pixels(rgbOut, out int w2, out int h2);
        Assert.Equal((4 * 128 + 5 * 2, 3 * 128 + 4 * 2), (w2, h2)); // 32-px tiles at scale 4
    }

    [Fact]
    public void A_norm_pix_model_is_de_normalised_with_each_patchs_statistics_and_says_so()
    {
        using var dir = new TempDir();
        Synthetic.Images(Path.Combine(dir.Path, "images"), 2, size: 28);
        string weights = Synthetic.Weights(Path.Combine(dir.Path, "normpix.safetensors"), "tiny-normpix");
        string output = Path.Combine(dir.Path, "grid.png");
        var r = CliConsole.Run(["reconstruct", "--checkpoint", weights, "--model", "tiny-normpix", "--images", Path.Combine(dir.Path, "images"),
            "--threads", "1", "--output", output]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("NormalizePixels: the model predicts per-patch normalised pixels; each removed patch is de-normalised with the true mean and variance", r.Out);
        string written = Path.Combine(dir.Path, "grid-normpix-restored.png");
        Assert.Equal($"output: {written}", r.OutLines[^1]);
        using var image = Image.Load(written);
        var text = image.Metadata.GetPngMetadata().TextData.Single(t => t.Keyword == "Description").Value;
        Assert.Contains(MaeDsl.Visualization.ReconstructionGrid.NormPixCaption, text);
    }

    [Fact]
    public void Errors_are_one_line()
    {
        using var dir = new TempDir();
        string images = Path.Combine(dir.Path, "images");
        Synthetic.Images(images, 2);
        string encoderOnly = Synthetic.Weights(Path.Combine(dir.Path, "mae_pretrain_tiny.pth"), "tiny", withDecoder: false);
        string full = Synthetic.Weights(Path.Combine(dir.Path, "full.pth"), "tiny");
        string output = Path.Combine(dir.Path, "out.png");
        CliResult Run(params string[] args) => CliConsole.Run(["reconstruct", "--threads", "1", "--output", output, .. args]);

        // no decoder: the official mae_visualize_* checkpoints are named
        Synthetic.AssertOneErrorLine(Run("--checkpoint", encoderOnly, "--model", "tiny", "--images", images), "mae_visualize_vit_base.pth");
        // an official .pth names no model
        Synthetic.AssertOneErrorLine(Run("--checkpoint", full, "--images", images), "--model is required");
        // the wrong model
        Synthetic.AssertOneErrorLine(Run("--checkpoint", full, "--model", "tiny-patch7", "--images", images), "--model tiny-patch7: ");
        // an unreadable image
        string broken = Synthetic.Unreadable(Path.Combine(dir.Path, "broken"));
        Synthetic.AssertOneErrorLine(Run("--checkpoint", full, "--model", "tiny", "--images", broken), "Supported: JPEG");
        // a read-only output folder
        string readOnly = Synthetic.ReadOnlyFolder(dir.Path);
        Synthetic.AssertOneErrorLine(CliConsole.Run(["reconstruct", "--checkpoint", full, "--model", "tiny", "--images", images,
            "--output", Path.Combine(readOnly, "grid.png")]), "read-only");
        // grid masking keeps the DSL's rule (MAE008)
        Synthetic.AssertOneErrorLine(Run("--checkpoint", full, "--model", "tiny", "--images", images, "--masking", "grid", "--mask-ratio", "0.5"), "MAE008");
        // files that are not weights
        string garbage = Path.Combine(dir.Path, "garbage.safetensors");
        File.WriteAllText(garbage, "these are not weights, not at all");
        Synthetic.AssertOneErrorLine(Run("--checkpoint", garbage, "--images", images), "not a safetensors file");
        string garbagePth = Path.Combine(dir.Path, "garbage.pth");
        File.WriteAllText(garbagePth, "these are not weights either");
        Synthetic.AssertOneErrorLine(Run("--checkpoint", garbagePth, "--model", "tiny", "--images", images), "not a PyTorch state_dict");
        // a missing checkpoint
        Synthetic.AssertOneErrorLine(Run("--checkpoint", Path.Combine(dir.Path, "none.ckpt"), "--images", images), "does not exist");
        Assert.False(File.Exists(output));
    }
}

// Fine-tuning from official released weights (an encoder-only official .pth made from the reference checkpoint with the
// decoder dropped), then `predict` (on loose images and on the ImageFolder through --dataset) with the class names the
// fine-tuned checkpoint records; predict's error paths.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using MaeDsl.Training;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class FineTuneAndPredictTests
{
    static readonly string[] Classes = ["cat", "dog", "fish"];

    /// <summary>An official-style encoder-only checkpoint ({'model': encoder state_dict}, as mae_pretrain_vit_base.pth), written by PyTorch.</summary>
    static string OfficialEncoderOnly(string folder)
    {
        string reference = Path.Combine(Processes.RepositoryRoot(), "tests", "MaeDsl.Tests", "Reference", "mae-tiny-official-checkpoint-3.pth");
        string output = Path.Combine(folder, "mae_pretrain_ref_tiny.pth");
        string python = Environment.GetEnvironmentVariable("MAEDSL_PYTHON") ?? "/usr/bin/python3";
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c",
                     "import sys, torch\n" +
                     "ck = torch.load(sys.argv[1], map_location='cpu')\n" +
                     "sd = {k: v for k, v in ck['model'].items() if not (k.startswith('decoder_') or k == 'mask_token')}\n" +
                     "torch.save({'model': sd}, sys.argv[2])\n" +
                     "print(len(ck['model']) - len(sd))", reference, output })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{python} could not write the encoder-only checkpoint (Debian's python3-torch, eng/install-native-deps.sh): {stderr}");
        Assert.True(int.Parse(stdout.Trim()) > 0, "no decoder key was dropped");
        return output;
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Finetune_from_official_encoder_only_weights_then_predict_with_the_class_names()
    {
        using var dir = new TempDir();
        string weights = OfficialEncoderOnly(dir.Path);
        string train = Synthetic.ImageFolder(Path.Combine(dir.Path, "data"), Classes, perClass: 8, size: 32, withVal: true);
        string run = Path.Combine(dir.Path, "run");
        var ft = CliConsole.Run(["finetune", "--model", "ref-tiny", "--pretrained", weights, "--dataset", train, "--epochs", "1", "--warmup-epochs", "0", "--batch", "8",
            "--threads", "1", "--output", run]);
        Assert.True(ft.ExitCode == 0, ft.ToString());
        // main_finetune.py's report on an official mae_pretrain_*.pth: exactly the head and fc_norm are missing; the two unexpected
        // keys are norm.weight and norm.bias, which a global-pool classifier replaces by fc_norm (the official model deletes its norm)
        var m = Regex.Match(ft.Out, @"missing keys: \[(?<missing>[^\]]*)\]; unexpected keys: (?<unexpected>\d+)");
        Assert.True(m.Success, ft.ToString());
        Assert.Equal(["fc_norm.bias", "fc_norm.weight", "head.bias", "head.weight"], m.Groups["missing"].Value.Split(", ").Order(StringComparer.Ordinal));
        Assert.Equal("2", m.Groups["unexpected"].Value);

        // the fine-tuned checkpoint records the class names
        string checkpoint = Path.Combine(run, "checkpoints", "checkpoint-last.ckpt");
        var config = RunConfig.Parse(MaeDsl.Checkpoints.CheckpointStore.ReadInfo(checkpoint).Config, checkpoint);
        Assert.Equal(Classes, CheckpointSource.ClassNames(config));

        string val = Path.Combine(dir.Path, "data", "val");
        foreach (var file in new[] { checkpoint, Path.Combine(run, "checkpoints", "checkpoint-0000.safetensors") })
        {
            string output = Path.Combine(dir.Path, Path.GetExtension(file).TrimStart('.') + "-predictions.csv");
            var r = CliConsole.Run(["predict", "--checkpoint", file, "--images", val, "--top", "2", "--threads", "1", "--output", output]);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal($"output: {output}", r.OutLines[^1]);
            var lines = File.ReadAllLines(output);
            Assert.Equal("image,class_1,probability_1,class_2,probability_2", lines[0]);
            Assert.Equal(Classes.Length * 8, lines.Length - 1);
            var expectedImages = Directory.GetFiles(val, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
            for (int i = 1; i < lines.Length; i++)
            {
                var f = lines[i].Split(',');
                Assert.Equal(expectedImages[i - 1], f[0]);
                Assert.Contains(f[1], Classes);
                Assert.Contains(f[3], Classes);
                Assert.NotEqual(f[1], f[3]);
                double p1 = double.Parse(f[2], CultureInfo.InvariantCulture), p2 = double.Parse(f[4], CultureInfo.InvariantCulture);
                Assert.InRange(p1, 0, 1);
                Assert.InRange(p2, 0, p1);
            }
            if (file.EndsWith(".ckpt"))
            {
                // reproducible
                string again = output + ".again.csv";
                Assert.Equal(0, CliConsole.Run(["predict", "--checkpoint", file, "--images", val, "--top", "2", "--threads", "1", "--output", again]).ExitCode);
                Assert.Equal(File.ReadAllBytes(output), File.ReadAllBytes(again));
                // --dataset: the ImageFolder root, its val sibling by default (the same images in the same order as --images val), --split train, --limit
                string viaDataset = output + ".dataset.csv";
                var onVal = CliConsole.Run(["predict", "--checkpoint", file, "--dataset", train, "--top", "2", "--threads", "1", "--output", viaDataset]);
                Assert.True(onVal.ExitCode == 0, onVal.ToString());
                // the same files in the same order; the ImageFolder's evaluation transform is util/datasets.py's (resize to 32/0.875,
                // centre crop 32) where loose images of the model's size are only normalised: the probabilities differ a little
                var loose = File.ReadAllLines(output).Select(l => l.Split(',')).ToArray();
                var viaFolder = File.ReadAllLines(viaDataset).Select(l => l.Split(',')).ToArray();
                Assert.Equal(loose.Select(f => f[0]), viaFolder.Select(f => f[0]));
                foreach (var (a, b) in loose.Skip(1).Zip(viaFolder.Skip(1)))
                    Assert.InRange(double.Parse(a[2], CultureInfo.InvariantCulture) - double.Parse(b[2], CultureInfo.InvariantCulture), -0.01, 0.01);
                var onTrain = CliConsole.Run(["predict", "--checkpoint", file, "--dataset", train, "--split", "train", "--limit", "5", "--threads", "1", "--output", viaDataset]);
                Assert.True(onTrain.ExitCode == 0, onTrain.ToString());
                var trainRows = File.ReadAllLines(viaDataset)[1..];
                Assert.Equal(5, trainRows.Length);
                Assert.All(trainRows, row => Assert.StartsWith(train + Path.DirectorySeparatorChar, row, StringComparison.Ordinal));
                Synthetic.AssertOneErrorLine(CliConsole.Run(["predict", "--checkpoint", file, "--dataset", Path.Combine(dir.Path, "no-such-folder"), "--output", viaDataset]), "no-such-folder");
                Synthetic.AssertOneErrorLine(CliConsole.Run(["predict", "--checkpoint", file, "--dataset", train, "--split", "val", "--output", viaDataset]), "--split");
                // a single file; --top beyond the classes gives every class
                string one = Path.Combine(dir.Path, "one.csv");
                var single = CliConsole.Run(["predict", "--checkpoint", file, "--images", expectedImages[0], "--top", "10", "--threads", "1", "--output", one]);
                Assert.True(single.ExitCode == 0, single.ToString());
                Assert.Equal(2, File.ReadAllLines(one).Length);
                Assert.Equal(1 + 2 * Classes.Length, File.ReadAllLines(one)[1].Split(',').Length);
                // errors: an unreadable image, a read-only output
                string broken = Synthetic.Unreadable(Path.Combine(dir.Path, "broken"));
                Synthetic.AssertOneErrorLine(CliConsole.Run(["predict", "--checkpoint", file, "--images", broken, "--threads", "1", "--output", one]), "Supported: JPEG");
                Synthetic.AssertOneErrorLine(CliConsole.Run(["predict", "--checkpoint", file, "--images", val, "--threads", "1",
                    "--output", Path.Combine(Synthetic.ReadOnlyFolder(dir.Path), "p.csv")]), "read-only");
                // reconstruct and embed need a pre-training checkpoint, not the fine-tuned classifier
                Synthetic.AssertOneErrorLine(CliConsole.Run(["reconstruct", "--checkpoint", file, "--images", val, "--output", Path.Combine(dir.Path, "r.png")]), "holds a fine-tuned classifier");
                Synthetic.AssertOneErrorLine(CliConsole.Run(["embed", "--checkpoint", file, "--images", val, "--output", Path.Combine(dir.Path, "e.npy")]), "holds a fine-tuned classifier");
            }
        }
    }

    [Fact]
    public void Predict_refuses_a_checkpoint_that_is_not_a_classifier()
    {
        using var dir = new TempDir();
        string images = Path.Combine(dir.Path, "images");
        Synthetic.Images(images, 2);
        string output = Path.Combine(dir.Path, "p.csv");
        foreach (var weights in new[] { Synthetic.Weights(Path.Combine(dir.Path, "mae.pth"), "tiny"), Synthetic.Weights(Path.Combine(dir.Path, "mae.safetensors"), "tiny") })
            Synthetic.AssertOneErrorLine(CliConsole.Run(["predict", "--checkpoint", weights, "--images", images, "--threads", "1", "--output", output]),
                "predict needs a checkpoint written by finetune or linprobe");
        Synthetic.AssertOneErrorLine(CliConsole.Run(["predict", "--checkpoint", Path.Combine(dir.Path, "none.ckpt"), "--images", images, "--output", output]), "does not exist");
        Assert.False(File.Exists(output));
    }
}

[Collection(ConsoleCollection.Name)]
public class PredictOnPretrainCheckpointTests(PretrainedRunFixture run) : IClassFixture<PretrainedRunFixture>
{
    [Fact]
    [Trait("Category", "Slow")]
    public void A_pretraining_checkpoint_is_refused_by_predict_and_accepted_by_embed()
    {
        Assert.True(run.Pretrain.ExitCode == 0, run.Pretrain.ToString());
        using var dir = new TempDir();
        Synthetic.Images(Path.Combine(dir.Path, "images"), 3, size: 28);
        Synthetic.AssertOneErrorLine(CliConsole.Run(["predict", "--checkpoint", run.Checkpoint, "--images", Path.Combine(dir.Path, "images"),
            "--output", Path.Combine(dir.Path, "p.csv")]), "not a classifier");
        // a --model that does not fit the checkpoint's weights
        Synthetic.AssertOneErrorLine(CliConsole.Run(["reconstruct", "--checkpoint", run.Checkpoint, "--model", "tiny-patch7",
            "--output", Path.Combine(dir.Path, "r.png")]), "does not fit --model tiny-patch7");
        // embed on the dataset: the checkpoint names its model
        string output = Path.Combine(dir.Path, "fm.npy");
        var r = CliConsole.Run(["embed", "--checkpoint", run.Checkpoint, "--limit", "10", "--threads", "1", "--output", output]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var index = File.ReadAllLines(Path.Combine(dir.Path, "fm.index.csv"));
        Assert.Equal(11, index.Length);
        // a class-balanced subset drawn with the checkpoint's run seed, in the dataset's order: one image of each class
        var train = DataSources.Open(DataSources.FashionMnistName, null, imageSize: 28, modelChannels: 1).Train;
        var items = index[1..].Select(l => int.Parse(l.Split(':')[^1], CultureInfo.InvariantCulture)).ToArray();
        Assert.All(index[1..], l => Assert.Matches(@"^\d+,fashion-mnist:train:\d+$", l));
        Assert.Equal(items.Order(), items);
        Assert.Equal(Enumerable.Range(0, 10), items.Select(train.GetLabel).Order());
        Assert.Contains($"(class-balanced, seed {PretrainedRunFixture.Seed})", r.Out);
    }
}

// --train-limit / --test-limit / --eval-limit, and the --limit of embed, predict and reconstruct, on an ImageFolder sorted by class
// (issue 18, section 3): a class-balanced subset drawn with the seed, recorded in config.json, with every class present; and the commands on a checkpoint read the
// dataset it was trained on, say so, and ask for --dataset when it is gone.
using MaeDsl.Data;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class BalancedSubsetTests
{
    /// <summary>An ImageFolder train/val pair of Fashion-MNIST at the tiny model's 28×28 grey, sorted by class (as every ImageFolder is).</summary>
    static string SortedImageFolder(TempDir dir, int train = 200, int val = 50)
    {
        var fm = DataSources.Open(DataSources.FashionMnistName, null, imageSize: 28, modelChannels: 1);
        string root = Path.Combine(dir.Path, "data", "train");
        ImageExport.Write(fm.Train, root, 28, train);
        ImageExport.Write(fm.Test!, Path.Combine(dir.Path, "data", "val"), 28, val);
        return root;
    }

    [Fact]
    public void A_limit_takes_every_class_in_balance_the_same_for_a_seed_where_the_first_n_lose_classes()
    {
        using var dir = new TempDir();
        var folder = new ImageFolder(SortedImageFolder(dir), 1);
        int[] Counts(IImageDataset d)
        {
            var counts = new int[folder.NumClasses];
            for (int i = 0; i < d.Count; i++) counts[d.GetLabel(i)]++;
            return counts;
        }
        Assert.Contains(0, Counts(SubsetDataset.First(folder, 30)));            // the first 30 of a sorted folder: 2 of 10 classes
        var (balanced, recorded) = DataSources.LimitedTrain(folder, 30, seed: 4, resume: null);
        Assert.Equal(Enumerable.Repeat(3, 10), Counts(balanced));
        Assert.Equal("class-balanced, seed 4", recorded);
        var again = DataSources.LimitedTrain(folder, 30, seed: 4, resume: null).Train;
        var other = DataSources.LimitedTrain(folder, 30, seed: 5, resume: null).Train;
        string[] Files(IImageDataset d) => Enumerable.Range(0, d.Count).Select(d.Describe).ToArray();
        Assert.Equal(Files(balanced), Files(again));
        Assert.NotEqual(Files(balanced), Files(other));
        Assert.Equal(Enumerable.Repeat(3, 10), Counts(other));
        Assert.Equal(Enumerable.Repeat(4, 10).Select((n, c) => c < 3 ? 4 : 3), Counts(SubsetDataset.Balanced(folder, 33, 0)));   // 33: three classes get a fourth
        Assert.Same(folder, DataSources.LimitedTrain(folder, null, 4, null).Train);
    }

    /// <summary>A one-epoch run of <paramref name="command"/> on 40 images of <paramref name="root"/> (batch 20, seed 3) into dir/command; its folder.</summary>
    static string TrainTiny(TempDir dir, string root, string command, params string[] extra)
    {
        string run = Path.Combine(dir.Path, command);
        var r = CliConsole.Run([command, "--model", "tiny", "--dataset", root, "--train-limit", "40", "--epochs", "1", "--batch", "20",
            "--seed", "3", "--threads", "1", "--output", run, .. extra]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return run;
    }

    /// <summary>The class folder of each image path (root/class/file.png).</summary>
    static string[] ClassesOf(IEnumerable<string> paths) => paths.Select(p => Path.GetFileName(Path.GetDirectoryName(p))!).ToArray();

    [Fact]
    public void Embed_predict_and_reconstruct_limit_a_dataset_to_a_class_balanced_subset_drawn_with_the_seed_and_loose_files_to_the_first_n()
    {
        using var dir = new TempDir();
        string root = SortedImageFolder(dir);
        foreach (var split in new[] { "test", "train" })
        {
            var inputs = ImageInputs.Open(null, root, null, 28, 1, null, split, limit: 10, seed: 3);
            Assert.Equal(10, inputs.Images.Count);
            // every class, each once; the name of item i is the file it reads (its class folder is its label's)
            Assert.Equal(inputs.Images.ClassNames, Enumerable.Range(0, 10).Select(i => inputs.Images.ClassNames[inputs.Images.GetLabel(i)]));
            Assert.Equal(Enumerable.Range(0, 10).Select(i => inputs.Images.ClassNames[inputs.Images.GetLabel(i)]),
                ClassesOf(Enumerable.Range(0, 10).Select(inputs.NameOf)));
            Assert.Contains("(class-balanced, seed 3)", inputs.Description);
            var again = ImageInputs.Open(null, root, null, 28, 1, null, split, limit: 10, seed: 3);
            var other = ImageInputs.Open(null, root, null, 28, 1, null, split, limit: 10, seed: 4);
            string[] Names(ImageInputs x) => Enumerable.Range(0, x.Images.Count).Select(x.NameOf).ToArray();
            Assert.Equal(Names(inputs), Names(again));
            Assert.NotEqual(Names(inputs), Names(other));
        }
        // loose files have no labels: the first N, in path order
        var loose = ImageInputs.Open(root, "unused", null, 28, 1, null, "test", limit: 3, seed: 3);
        Assert.Equal(LooseImages.Find(root, 1).Files.Take(3), Enumerable.Range(0, 3).Select(loose.NameOf));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Predict_limit_on_an_image_folder_sorted_by_class_takes_every_class()
    {
        using var dir = new TempDir();
        string root = SortedImageFolder(dir);
        string run = TrainTiny(dir, root, "finetune", "--test-limit", "20", "--no-tensorboard");
        string csv = Path.Combine(dir.Path, "p.csv");
        var r = CliConsole.Run(["predict", "--checkpoint", Path.Combine(run, "checkpoints", "checkpoint-last.ckpt"), "--limit", "10", "--threads", "1", "--output", csv]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("10 test image(s) (class-balanced, seed 3)", r.Out);   // the checkpoint's run seed
        var images = File.ReadAllLines(csv)[1..].Select(l => l.Split(',')[0]).ToArray();
        Assert.Equal(10, ClassesOf(images).Distinct().Count());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_limited_run_records_its_subset_and_evaluate_reads_the_checkpoints_dataset_says_so_and_asks_for_dataset_when_it_is_gone()
    {
        using var dir = new TempDir();
        string root = SortedImageFolder(dir);
        string run = TrainTiny(dir, root, "pretrain");
        var config = MaeDsl.Training.RunConfig.Read(Path.Combine(run, "config.json"));
        Assert.Equal("class-balanced, seed 3", config.Inputs[DataSources.TrainSubsetKey]!.GetValue<string>());
        Assert.Equal(40, config.Inputs["train_images"]!.GetValue<int>());

        string ckpt = Path.Combine(run, "checkpoints", "checkpoint-last.ckpt");
        var evaluated = CliConsole.Run(["evaluate", "--checkpoint", ckpt, "--eval-limit", "30", "--threads", "1"]);
        Assert.True(evaluated.ExitCode == 0, evaluated.ToString());
        Assert.Contains($"dataset: {root} (the one checkpoint-last.ckpt was trained on", evaluated.Out);
        Assert.DoesNotContain("Fashion-MNIST", evaluated.Out);

        // embed and reconstruct --limit: every class of the sorted folder (the first 10 images would be one class)
        string features = Path.Combine(dir.Path, "f10.npy");
        var embedded = CliConsole.Run(["embed", "--checkpoint", ckpt, "--limit", "10", "--threads", "1", "--output", features]);
        Assert.True(embedded.ExitCode == 0, embedded.ToString());
        var indexed = File.ReadAllLines(Path.Combine(dir.Path, "f10.index.csv"))[1..].Select(l => l.Split(',', 2)[1]).ToArray();
        Assert.Equal(10, ClassesOf(indexed).Distinct().Count());
        var drawn = CliConsole.Run(["reconstruct", "--checkpoint", ckpt, "--limit", "10", "--threads", "1", "--output", Path.Combine(dir.Path, "r10.png")]);
        Assert.True(drawn.ExitCode == 0, drawn.ToString());
        Assert.Contains("10 test image(s) (class-balanced, seed 3)", drawn.Out);

        Directory.Move(Path.Combine(dir.Path, "data"), Path.Combine(dir.Path, "moved"));
        foreach (var args in new[]
                 {
                     new[] { "evaluate", "--checkpoint", ckpt, "--threads", "1" },
                     new[] { "embed", "--checkpoint", ckpt, "--threads", "1", "--output", Path.Combine(dir.Path, "f.npy") },
                     new[] { "reconstruct", "--checkpoint", ckpt, "--threads", "1", "--output", Path.Combine(dir.Path, "r.png") },
                 })
        {
            string line = Faults.RunCliFaultTests.AssertOneErrorLine(CliConsole.Run(args));
            Assert.Contains($"was trained on the ImageFolder {root}, which is gone: pass --dataset", line);
        }
        string moved = Path.Combine(dir.Path, "moved", "train");
        var given = CliConsole.Run(["evaluate", "--checkpoint", ckpt, "--dataset", moved, "--eval-limit", "30", "--threads", "1"]);
        Assert.True(given.ExitCode == 0, given.ToString());
        Assert.Contains($"dataset: {moved} (--dataset)", given.Out);
    }
}

// --train-limit / --test-limit / --eval-limit on an ImageFolder sorted by class (issue 18, section 3): a class-balanced subset
// drawn with the run's seed, recorded in config.json, with every class present; and the commands on a checkpoint read the
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

    [Fact]
    [Trait("Category", "Slow")]
    public void A_limited_run_records_its_subset_and_evaluate_reads_the_checkpoints_dataset_says_so_and_asks_for_dataset_when_it_is_gone()
    {
        using var dir = new TempDir();
        string root = SortedImageFolder(dir);
        string run = Path.Combine(dir.Path, "run");
        var trained = CliConsole.Run(["pretrain", "--model", "tiny", "--dataset", root, "--train-limit", "40", "--epochs", "1", "--batch", "20",
            "--seed", "3", "--threads", "1", "--output", run]);
        Assert.True(trained.ExitCode == 0, trained.ToString());
        var config = MaeDsl.Training.RunConfig.Read(Path.Combine(run, "config.json"));
        Assert.Equal("class-balanced, seed 3", config.Inputs[DataSources.TrainSubsetKey]!.GetValue<string>());
        Assert.Equal(40, config.Inputs["train_images"]!.GetValue<int>());

        string ckpt = Path.Combine(run, "checkpoints", "checkpoint-last.ckpt");
        var evaluated = CliConsole.Run(["evaluate", "--checkpoint", ckpt, "--eval-limit", "30", "--threads", "1"]);
        Assert.True(evaluated.ExitCode == 0, evaluated.ToString());
        Assert.Contains($"dataset: {root} (the one checkpoint-last.ckpt was trained on", evaluated.Out);
        Assert.DoesNotContain("Fashion-MNIST", evaluated.Out);

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

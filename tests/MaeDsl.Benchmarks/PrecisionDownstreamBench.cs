// precision-downstream: fine-tuning and linear probing of one pre-trained tiny encoder in fp32 and in bf16 (issue 11).
using MaeDsl.Data;
using MaeDsl.Training;
using MaeDsl.Training.FineTuning;
using MaeDsl.Training.LinearProbing;
using MaeDsl.Training.Loop;
using MaeDsl.Training.Pretraining;
using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `precision-downstream [--images 10000] [--test 2000] [--pretrain-epochs 4] [--finetune-epochs 3] [--finetune-batch 64] [--linprobe-epochs 4] [--threads N] [--data-dir D]`:
/// pre-trains the main job's tiny model (MaeBenchTiny) once in fp32 on the first --images Fashion-MNIST training images
/// (the tiny recipe, batch 256, seed 0), then fine-tunes it (the `results` command's tiny recipe: AdamW, layer decay 0.75,
/// mixup/cutmix, label smoothing, random erasing; batch --finetune-batch, lr blr 1e-3 × batch / 256) and linear-probes it (BatchNorm + linear head, LARS lr 6.4, batch 256)
/// through the library's FineTuner and LinearProbe with <see cref="RunOptions.Precision"/> fp32 and bf16 at seed 0 (same head
/// initialisation, data order, augmentation: they differ by arithmetic only), and in fp32 at seed 1 (the seed-to-seed noise a
/// difference is to be judged against). Evaluates each on the first --test held-out images; prints top-1 and the differences.
/// </summary>
static class PrecisionDownstreamBench
{
    public static int Run(Options options)
    {
        int images = options.Int("--images", 10_000), testImages = options.Int("--test", 2_000);
        int pretrainEpochs = options.Int("--pretrain-epochs", 4), finetuneEpochs = options.Int("--finetune-epochs", 3), probeEpochs = options.Int("--linprobe-epochs", 4);
        int finetuneBatch = options.Int("--finetune-batch", 64);
        int threads = options.Int("--threads", Environment.ProcessorCount);
        if (images < 256 || testImages < 1 || pretrainEpochs < 1 || finetuneEpochs < 1 || probeEpochs < 1)
            throw new ArgumentException("--images must be >= 256 (one batch), --test and every --*-epochs >= 1");
        set_num_threads(threads);
        string? dataDir = options.String("--data-dir");
        var train = SubsetDataset.First(FashionMnist.Load(dataDir, train: true), images);
        var test = SubsetDataset.First(FashionMnist.Load(dataDir, train: false), testImages);
        Console.WriteLine($"precision-downstream: MaeBenchTiny pre-trained {pretrainEpochs} epochs in fp32 on {train.Count} Fashion-MNIST images; " +
                          $"fine-tune {finetuneEpochs} epochs of batch {finetuneBatch}, linear probe {probeEpochs} epochs; top-1 on {test.Count} held-out images; {threads} threads; {Machine()}");
        string root = Path.Combine(Path.GetTempPath(), $"maedsl-precision-downstream-{Environment.ProcessId}");
        try
        {
            using var mae = new MaeBenchTiny(0);
            var recipe = RecipePresets.TinyPretrain;
            var pretrain = recipe with
            {
                Run = recipe.Run with
                {
                    Epochs = pretrainEpochs, WarmupEpochs = Math.Min(0.5, pretrainEpochs / 2.0), Seed = 0, TensorBoard = false,
                    CheckpointPeriod = pretrainEpochs, OutputDir = Path.Combine(root, "pretrain"),
                },
            };
            double seconds = Seconds(() =>
            {
                using var trainer = new Pretrainer(mae, pretrain);
                var loader = new BatchLoader(train, pretrain.Run.BatchSize, Transforms.Pretrain(28, Normalization.FashionMnist),
                    shuffle: true, dropLast: true, seed: 0, prefetch: 3, workers: 1);
                trainer.Run(new LoaderBatches(loader), console: TextWriter.Null);
            });
            Console.WriteLine($"  pre-training: {F(seconds, 0)} s");

            var runs = new (string Protocol, Precision Precision, int Seed)[]
            {
                ("finetune", Precision.Fp32, 0), ("finetune", Precision.Bf16, 0), ("finetune", Precision.Fp32, 1),
                ("linprobe", Precision.Fp32, 0), ("linprobe", Precision.Bf16, 0), ("linprobe", Precision.Fp32, 1),
            };
            var top1 = new Dictionary<(string, Precision, int), double>();
            foreach (var (protocol, precision, seed) in runs)
            {
                string output = Path.Combine(root, $"{protocol}-{MaeDsl.MixedPrecision.Name(precision)}-seed{seed}");
                ClassifierRunResult? result = null;
                double s = Seconds(() => result = protocol == "finetune"
                    ? FineTune(mae, train, test, finetuneEpochs, finetuneBatch, precision, seed, output)
                    : Probe(mae, train, test, probeEpochs, precision, seed, output));
                top1[(protocol, precision, seed)] = result!.Final.Top1;
                Console.WriteLine($"  {protocol} {MaeDsl.MixedPrecision.Name(precision)} seed {seed}: top-1 {F(result.Final.Top1, 2)} %, " +
                                  $"train loss {F(result.Evals[^1].TrainLoss, 4)}, {F(result.TrainSeconds, 0)} s training ({F(s, 0)} s with evaluation)");
            }

            var line = new List<string>();
            foreach (var protocol in new[] { "finetune", "linprobe" })
            {
                double fp32 = top1[(protocol, Precision.Fp32, 0)], bf16 = top1[(protocol, Precision.Bf16, 0)], other = top1[(protocol, Precision.Fp32, 1)];
                Console.WriteLine($"{protocol}: bf16 − fp32 (seed 0) = {F(bf16 - fp32, 2)} points; fp32 seed 1 − seed 0 = {F(other - fp32, 2)} points");
                line.Add($"{protocol}_fp32={F(fp32, 2)} {protocol}_bf16={F(bf16, 2)} {protocol}_fp32_seed1={F(other, 2)}");
            }
            Console.WriteLine($"precision-downstream images={train.Count} test={test.Count} {string.Join(' ', line)}");
            return 0;
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    static RunOptions Shared(RunOptions run, int epochs, Precision precision, int seed, string output) => run with
    {
        Epochs = epochs, Seed = seed, Precision = precision, OutputDir = output, TensorBoard = false, CheckpointPeriod = epochs,
    };

    static ClassifierRunResult FineTune(MaskedAutoencoder mae, IImageDataset train, IImageDataset test, int epochs, int batch, Precision precision, int seed, string output)
    {
        var recipe = RecipePresets.TinyFineTune;
        var o = recipe with { NumClasses = 10, EvalPeriod = epochs, Run = Shared(recipe.Run, epochs, precision, seed, output) with { BatchSize = batch } };
        using var classifier = mae.CreateClassifier(o.NumClasses, o.GlobalPool, o.DropPath, seed: seed);
        using var tuner = new FineTuner(classifier, o);
        return tuner.Run(train, test, Normalization.FashionMnist, TextWriter.Null);
    }

    static ClassifierRunResult Probe(MaskedAutoencoder mae, IImageDataset train, IImageDataset test, int epochs, Precision precision, int seed, string output)
    {
        var recipe = RecipePresets.TinyLinearProbe;
        var o = recipe with { NumClasses = 10, EvalPeriod = epochs, Run = Shared(recipe.Run, epochs, precision, seed, output) };
        using var classifier = LinearProbe.CreateModel(mae, o, seed);
        using var probe = new LinearProbe(classifier, o);
        return probe.Run(train, test, Normalization.FashionMnist, TextWriter.Null);
    }
}

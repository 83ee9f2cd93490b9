using MaeDsl.Data;
using MaeDsl.Training;
using MaeDsl.Tests.FineTune;

namespace MaeDsl.Tests.Training;

[Collection(TrainingRunsCollection.Name)]
public class LegacyRecorder
{
    static string Out => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Fixtures", "legacy"));

    static void Copy(string dir, string name, string prefix)
    {
        foreach (var (src, dst) in new[] { ("checkpoints/checkpoint-0000.ckpt", "-epoch0.ckpt"), ("metrics.csv", "-metrics.csv"), ("eval.csv", "-eval.csv"), ("config.json", "-config.json") })
        {
            var p = Path.Combine(dir, src);
            if (File.Exists(p)) File.Copy(p, Path.Combine(Out, prefix + dst), overwrite: true);
        }
    }

    [Fact]
    public void Record()
    {
        if (Environment.GetEnvironmentVariable("MAEDSL_RECORD_LEGACY") != "1") return;
        torch.set_num_threads(1);
        Directory.CreateDirectory(Out);
        {
            string dir = Directory.CreateTempSubdirectory("legacy-pretrain-").FullName;
            var options = new PretrainOptions { Epochs = 2, BatchSize = 8, AccumIter = 1, Lr = 2e-3, WarmupEpochs = 1, Seed = 3, CheckpointEveryEpochs = 1, OutputDir = dir, TensorBoard = false };
            using var model = new TinyMae(5);
            using var trainer = new Pretrainer(model, options);
            trainer.Run(new SyntheticBatches(48, 8, options.Seed), null, TextWriter.Null);
            Copy(dir, "pretrain", "pretrain");
        }
        {
            string dir = Directory.CreateTempSubdirectory("legacy-finetune-").FullName;
            var data = new SyntheticDataset(32, channels: 1, height: 16, width: 16, numClasses: 4, seed: 2);
            using var mae = new SpecMae(FineTunerTests.Tiny, seed: 0);
            var options = new FineTuneOptions { NumClasses = 4, Epochs = 2, BatchSize = 16, Lr = 2e-3, WarmupEpochs = 1, MinLr = 1e-5, EvalCropPct = 1.0, OutputDir = dir, TensorBoard = false, Workers = 1, Seed = 3 };
            using var model = FineTuner.FromPretrained(mae, options);
            using (var tuner = new FineTuner(model, options)) tuner.Run(data, data, FineTunerTests.Norm, console: TextWriter.Null);
            Copy(dir, "finetune", "finetune");
        }
        {
            string dir = Directory.CreateTempSubdirectory("legacy-linprobe-").FullName;
            var data = new SyntheticDataset(48, channels: 1, height: 16, width: 16, numClasses: 4, seed: 1);
            using var mae = new SpecMae(FineTunerTests.Tiny, seed: 0);
            var options = new LinearProbeOptions { NumClasses = 4, Epochs = 2, BatchSize = 16, Lr = 2.0, WarmupEpochs = 1, EvalCropPct = 1.0, OutputDir = dir, TensorBoard = false, Workers = 1, Seed = 3 };
            using var model = LinearProbe.CreateModel(mae, options, seed: 3);
            using (var probe = new LinearProbe(model, options)) probe.Run(data, data, FineTunerTests.Norm, console: TextWriter.Null);
            Copy(dir, "linprobe", "linprobe");
        }
    }
}

// The whole loop: a run folder as kill -9 leaves it (a torn metrics.csv row, an orphaned temporary checkpoint) resumes.
using MaeDsl.Checkpoints;
using MaeDsl.IO;
using MaeDsl.Tests.Training;
using MaeDsl.Training;

namespace MaeDsl.Tests.Faults;

[Collection(NoGcRegionCollection.Name)]
public class ResumeAfterCrashFaultTests
{
    static PretrainOptions Options(string dir, int epochs) => new()
    {
        Run = RecipePresets.OfficialPretrainRun with
        {
            Epochs = epochs, BatchSize = 8, AccumIter = 1, Lr = 2e-3, WarmupEpochs = 1, Seed = 3,
            CheckpointPeriod = 1, OutputDir = dir, TensorBoard = false,
        },
    };

    static PretrainResult Train(string dir, int epochs, string? resume)
    {
        torch.set_num_threads(1);
        using var model = new TinyMae(5);
        using var trainer = new Pretrainer(model, Options(dir, epochs));
        return trainer.Run(new SyntheticBatches(48, 8, 3), resume, TextWriter.Null);
    }

    [Fact]
    public void TornMetricsRowAndOrphanedCheckpointTempDoNotBlockResume()
    {
        using var dir = new FaultDir();
        var first = Train(dir.Path, epochs: 2, resume: null);   // 2 epochs × 6 steps
        string checkpoints = Path.GetDirectoryName(first.LastCheckpoint)!;
        string epoch0 = Path.Combine(checkpoints, "checkpoint-0000.ckpt");
        var epoch0Bytes = File.ReadAllBytes(epoch0);
        // as kill -9 in the middle of epoch 1 leaves the folder: rows 0..8, then a row cut inside a number …
        string csv = dir[TrainingLog.CsvFileName];
        var lines = File.ReadAllLines(csv);
        File.WriteAllText(csv, string.Join("\n", lines.Take(1 + 9)) + "\n" + lines[10][..(lines[10].Length - 4)]);
        // … and a half-written checkpoint whose process is gone
        string orphan = Path.Combine(checkpoints, $"{CheckpointStore.LastFileName}.999999999.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(orphan, epoch0Bytes[..100]);

        var resumed = Train(dir.Path, epochs: 2, resume: epoch0);

        var rows = TrainingLog.ReadCsv(csv);   // strict: no torn row is left
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), rows.Select(r => r.Step));
        Assert.False(File.Exists(orphan));
        Assert.DoesNotContain(Directory.GetFiles(checkpoints), AtomicFile.IsTemporary);
        Assert.Equal(epoch0Bytes, File.ReadAllBytes(epoch0));   // the checkpoint resumed from is unharmed
        Assert.Equal(1, CheckpointStore.ReadInfo(resumed.LastCheckpoint).Epoch);
    }
}

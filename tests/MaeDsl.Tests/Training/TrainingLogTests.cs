using MaeDsl.Training;

namespace MaeDsl.Tests.Training;

public class TrainingLogTests
{
    static string NewDir() => Directory.CreateTempSubdirectory("maedsl-log-").FullName;

    static StepMetrics M(long step, float loss) => new(step, (int)(step / 4), step / 4.0, loss, 1e-4 * step, 100, step * 0.1);

    [Fact]
    public void WritesCsvTensorBoardAndPlainLines()
    {
        string dir = NewDir();
        var console = new StringWriter();
        using (var log = new TrainingLog(dir, console: console, plainLineInterval: TimeSpan.Zero))
        {
            Assert.False(log.Interactive);
            log.Run(0, 8, () =>
            {
                for (long s = 0; s < 8; s++) log.Step(M(s, 1f / (s + 1)), epochs: 2, stepsPerEpoch: 4, optimizerStep: s % 2 == 1);
                return 0;
            });
        }
        var rows = TrainingLog.ReadCsv(Path.Combine(dir, TrainingLog.CsvFileName));
        Assert.Equal(8, rows.Count);
        Assert.Equal(1f / 3, rows[2].Loss); // written with round-trip precision
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "tensorboard"), "events.out.tfevents.*"));
        string text = console.ToString();
        Assert.Contains("epoch 2/2 step 4/4 loss 0.1250", text);
        Assert.Contains("img/s", text);
        Assert.Contains("ETA", text);
    }

    [Fact]
    public void ResumeKeepsOnlyTheRowsBeforeTheResumedStep()
    {
        string dir = NewDir();
        using (var log = new TrainingLog(dir, tensorboard: false, console: TextWriter.Null))
            log.Run(0, 6, () => { for (long s = 0; s < 6; s++) log.Step(M(s, s), 2, 3, true); return 0; });
        using (var log = new TrainingLog(dir, resumeAtStep: 3, tensorboard: false, console: TextWriter.Null))
        {
            Assert.Equal([0L, 1L, 2L], log.History.Select(m => m.Step).ToArray());
            log.Run(3, 6, () => { log.Step(M(3, 42f), 2, 3, true); return 0; });
        }
        var rows = TrainingLog.ReadCsv(Path.Combine(dir, TrainingLog.CsvFileName));
        Assert.Equal([0L, 1L, 2L, 3L], rows.Select(r => r.Step).ToArray());
        Assert.Equal(42f, rows[3].Loss);
    }

    [Fact]
    public void ReadCsvNamesTheFileOfABadHeader()
    {
        string path = Path.Combine(NewDir(), "x.csv");
        File.WriteAllText(path, "a,b\n");
        var e = Assert.Throws<InvalidDataException>(() => TrainingLog.ReadCsv(path));
        Assert.Contains(path, e.Message);
    }
}

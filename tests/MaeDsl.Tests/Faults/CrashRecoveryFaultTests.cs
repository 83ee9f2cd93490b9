// A crash must not block its own recovery: torn CSV rows, orphaned temporary files, a full disk.
using MaeDsl.Checkpoints;
using MaeDsl.IO;

namespace MaeDsl.Tests.Faults;

public class CrashRecoveryFaultTests
{
    static StepMetrics M(long step) => new(step, (int)(step / 4), step / 4.0, 1f / (step + 1), 1e-4 * step, 100, step * 0.1);

    static string Row(long step) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{step},{step / 4},{step / 4.0:R},{1f / (step + 1):R},{1e-4 * step:R},100.00,{step * 0.1:F3}");

    static string WriteMetrics(FaultDir dir, int completeRows, string tail)
    {
        string path = dir[TrainingLog.CsvFileName];
        var text = TrainingLog.CsvHeader + "\n" + string.Concat(Enumerable.Range(0, completeRows).Select(s => Row(s) + "\n")) + tail;
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("10,2,2.5,0.0909")]                 // cut after a field
    [InlineData("10,2,2.5,0.09090909,1.0000000000000001E-0")]   // cut inside a number's exponent (was a FormatException)
    [InlineData("10,2,2.5,0.09090909,0.001,100.00,1.0")]        // all fields, but no line end: the write was cut
    [InlineData("1")]
    public void TornLastRowOfMetricsCsvIsDroppedOnResume(string tornTail)
    {
        using var dir = new FaultDir();
        string path = WriteMetrics(dir, 10, tornTail);
        var console = new StringWriter();
        using (var log = new TrainingLog(dir.Path, resumeAtStep: 8, tensorboard: false, console: console))
        {
            Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), log.History.Select(m => m.Step));
        }
        // the rows past the checkpoint and the torn one are gone from the file, which reads strictly again
        Assert.Equal(8, TrainingLog.ReadCsv(path).Count);
        Assert.Contains("dropped 3 row(s) past the checkpoint's step 8, including a torn last row", console.ToString());
    }

    [Fact]
    public void TornLastRowOfMetricsCsvIsOneLineNotFormatException()
    {
        using var dir = new FaultDir();
        string path = WriteMetrics(dir, 3, "3,0,0.75,0.25,1E-");
        FaultAssert.Refuses<InvalidDataException>(() => TrainingLog.ReadCsv(path), path, "torn");
        var rows = TrainingLog.ReadCsv(path, out var torn);
        Assert.Equal(3, rows.Count);
        Assert.Equal("3,0,0.75,0.25,1E-", torn);
    }

    [Fact]
    public void DamagedMiddleRowOfMetricsCsvIsOneLineNamingTheLine()
    {
        using var dir = new FaultDir();
        string path = dir[TrainingLog.CsvFileName];
        File.WriteAllText(path, TrainingLog.CsvHeader + "\n" + Row(0) + "\n0,0,0.2,1e-,0.1,1,1\n" + Row(2) + "\n");
        FaultAssert.Refuses<InvalidDataException>(() => TrainingLog.ReadCsv(path), path + ":3", "damaged row");
    }

    [Fact]
    public void MetricsCsvRowIsOnDiskRightAfterTheStep()
    {
        using var dir = new FaultDir();
        using var log = new TrainingLog(dir.Path, tensorboard: false, console: TextWriter.Null);
        log.Step(M(0), 1, 4, optimizerStep: true);
        log.Step(M(1), 1, 4, optimizerStep: true);
        // read by another handle, without Flush or Dispose: what a kill -9 now would leave
        using var other = new FileStream(dir[TrainingLog.CsvFileName], FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var text = new StreamReader(other).ReadToEnd();
        Assert.Equal(3, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.EndsWith("\n", text);
    }

    [Fact]
    public void TornLastRowOfEvalCsvIsDroppedNotFatal()
    {
        using var dir = new FaultDir();
        string path = dir[EvalLog.CsvFileName];
        EvalLog.Write(path, [new EpochEval(0, 50, 90, 1.5, 2.0, 10), new EpochEval(1, 60, 95, 1.2, 1.8, 20)]);
        File.AppendAllText(path, "2,70.5,96.");   // a row cut by kill -9
        var rows = EvalLog.Read(path, out var torn);
        Assert.Equal([0, 1], rows.Select(r => r.Epoch));
        Assert.Equal("2,70.5,96.", torn);
        // a damaged row before the last is one line naming file:line, never a FormatException
        File.WriteAllText(path, EvalLog.CsvHeader + "\n0,5x,1,1,1,1\n1,1,1,1,1,1\n");
        FaultAssert.Refuses<InvalidDataException>(() => EvalLog.Read(path), path + ":2");
    }

    static string OrphanName(string target, int pid) => $"{target}.{pid}.{Guid.NewGuid():N}.tmp";

    static int DeadPid()
    {
        for (int pid = 4_000_000; ; pid--)
        {
            try { System.Diagnostics.Process.GetProcessById(pid).Dispose(); }
            catch (ArgumentException) { return pid; }
        }
    }

    [Fact]
    public void OrphanedTemporaryFileOfInterruptedWriteIsCleanedAtNextWrite()
    {
        using var dir = new FaultDir();
        string ckpt = dir[CheckpointStore.LastFileName];
        File.WriteAllText(ckpt, "previous");
        string orphan = OrphanName(ckpt, DeadPid());
        File.WriteAllText(orphan, "MAEDSLCK half a checkpoint");
        string live = OrphanName(ckpt, 1);   // pid 1 runs: another writer at work, left alone
        File.WriteAllText(live, "busy");
        Assert.True(AtomicFile.IsTemporary(orphan));
        Assert.False(AtomicFile.IsTemporary(ckpt));

        // a temporary file is never taken for a checkpoint, even when named explicitly
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.ReadInfo(orphan), orphan, "not a checkpoint");

        AtomicFile.Write(dir["config.json"], s => s.Write("{}"u8));   // the next write to the folder (a resume writes config.json)
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(live));
        Assert.Equal("previous", File.ReadAllText(ckpt));
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => f.EndsWith(".tmp") && f != live);
    }

    [Fact]
    public void FolderIsFsyncedAfterRename()
    {
        using var dir = new FaultDir();
        AtomicFile.SyncFolder(dir.Path);                    // opens the folder read-only and fsyncs it (no exception)
        AtomicFile.SyncFolder(dir["does-not-exist"]);       // a folder that cannot be opened is no error: the file is on disk
        AtomicFile.Write(dir["x.bin"], s => s.Write(new byte[] { 1, 2, 3 }));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(dir["x.bin"]));
    }

    [Fact]
    public void DiskFullWhileWritingKeepsPreviousFileAndNamesIt()
    {
        using var dir = new FaultDir();
        string path = dir["checkpoint-0001.safetensors"];
        using var small = torch.nn.Linear(4, 2);
        StateDicts.Save(small, path);
        var before = File.ReadAllBytes(path);
        using var big = torch.nn.Linear(256, 256);
        AtomicFile.WrapStreamForTests = (target, s) => target == path ? new AtomicFile.LimitedStream(s, 4096, () => throw new IOException("No space left on device")) : s;
        try
        {
            var e = FaultAssert.Refuses<IOException>(() => StateDicts.Save(big, path), path, "No space left on device", "previous file is kept");
        }
        finally { AtomicFile.WrapStreamForTests = null; }
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));   // no temporary file left behind
    }

    [Fact]
    public void DiskFullWhileWritingCheckpointKeepsThePreviousCheckpointLoadable()
    {
        using var dir = new FaultDir();
        using var module = torch.nn.Linear(64, 64);
        var optimizer = torch.optim.AdamW(module.parameters());
        var store = new CheckpointStore(dir["checkpoints"], 1);
        CheckpointInfo Info(int epoch) => new("Linear", epoch, epoch + 1, epoch + 1, new System.Text.Json.Nodes.JsonObject(), torch.random.get_rng_state().bytes.ToArray());
        store.Save(module, optimizer, Info(0), keep: true);
        var before = File.ReadAllBytes(store.LastPath);
        AtomicFile.WrapStreamForTests = (target, s) => target == store.LastPath ? new AtomicFile.LimitedStream(s, 1000, () => throw new IOException("No space left on device")) : s;
        try
        {
            FaultAssert.Refuses<IOException>(() => store.Save(module, optimizer, Info(1), keep: true), store.LastPath, "No space left on device", "previous file is kept");
        }
        finally { AtomicFile.WrapStreamForTests = null; }
        Assert.Equal(before, File.ReadAllBytes(store.LastPath));
        using var fresh = torch.nn.Linear(64, 64);
        Assert.Equal(0, CheckpointStore.LoadModel(store.LastPath, fresh).Epoch);
        Assert.DoesNotContain(Directory.GetFiles(store.Directory), AtomicFile.IsTemporary);
        Assert.False(File.Exists(store.PeriodicPath(1)));
    }

    [SkippableFact]
    public void DiskFullOnSmallTmpfsKeepsPreviousFileAndNamesIt()
    {
        using var dir = new FaultDir();
        string mount = dir["tmpfs"];
        Directory.CreateDirectory(mount);
        // a real full disk: a 64 KB tmpfs (root only); elsewhere the hook test above covers the path
        Skip.IfNot(OperatingSystem.IsLinux(), "a tmpfs mount is Linux's");
        Skip.IfNot(FaultAssert.TryRun("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount),
            "mounting a 64 KB tmpfs failed (it needs root); the disk-full hook test covers the same path");
        try
        {
            string path = Path.Combine(mount, "eval.csv");
            EvalLog.Write(path, [new EpochEval(0, 50, 90, 1.5, 2.0, 10)]);
            var before = File.ReadAllText(path);
            var rows = Enumerable.Range(0, 20_000).Select(i => new EpochEval(i, 50, 90, 1.5, 2.0, 10)).ToList();   // ~600 KB
            FaultAssert.Refuses<IOException>(() => EvalLog.Write(path, rows), path, "previous file is kept");
            Assert.Equal(before, File.ReadAllText(path));
            Assert.Equal([path], Directory.GetFiles(mount));
            // the next write after space is freed works and leaves no orphan
            EvalLog.Write(path, rows.Take(2));
            Assert.Equal(2, EvalLog.Read(path).Count);

            // a log appended row by row: the row that does not fit is one line naming metrics.csv; the rows before it stay
            File.Delete(path);
            using (var log = new TrainingLog(mount, tensorboard: false, console: TextWriter.Null))
            {
                var e = Assert.Throws<IOException>(() => { for (long s = 0; s < 100_000; s++) log.Step(M(s), 1, 100_000, optimizerStep: false); });
                FaultAssert.OneLine(e.Message, Path.Combine(mount, TrainingLog.CsvFileName), "could not append the row of step", "rows before it are kept");
            }
            var kept = TrainingLog.ReadCsv(Path.Combine(mount, TrainingLog.CsvFileName), out _);
            Assert.True(kept.Count > 100);
            Assert.Equal(Enumerable.Range(0, kept.Count).Select(i => (long)i), kept.Select(r => r.Step));
        }
        finally { FaultAssert.TryRun("umount", mount); }
    }
}

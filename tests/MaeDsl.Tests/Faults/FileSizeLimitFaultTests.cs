// ulimit -f: writing past a file-size limit gives one line naming the file (the signal would end the process otherwise).
using System.Runtime.InteropServices;
using MaeDsl.Checkpoints;
using MaeDsl.IO;

namespace MaeDsl.Tests.Faults;

/// <summary>Lowers this process's own file-size limit, so it runs alone (no other test writes meanwhile).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FileSizeLimitCollection { public const string Name = "file-size limit"; }

[Collection(FileSizeLimitCollection.Name)]
public class FileSizeLimitFaultTests
{
    [StructLayout(LayoutKind.Sequential)]
    struct RLimit { public ulong Current, Max; }

    const int RLIMIT_FSIZE = 1;   // Linux

    [DllImport("libc", SetLastError = true)]
    static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    static extern int setrlimit(int resource, ref RLimit limit);

    const string NotLinux64 = "setrlimit(RLIMIT_FSIZE) is called with the 64-bit Linux layout of struct rlimit";

    [SkippableFact]
    public void FileSizeLimitWhileWritingCheckpointKeepsPreviousAndNamesIt()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.Is64BitProcess, NotLinux64);
        using var dir = new FaultDir();
        string path = dir["checkpoint-0001.safetensors"];
        using var small = torch.nn.Linear(4, 2);
        StateDicts.Save(small, path);
        var before = File.ReadAllBytes(path);
        Assert.True(AtomicFile.FileSizeSignalHandled);
        using var big = torch.nn.Linear(1024, 1024);   // 4 MB
        Assert.Equal(0, getrlimit(RLIMIT_FSIZE, out var saved));
        var lowered = new RLimit { Current = 1 << 20, Max = saved.Max };   // ulimit -f 1024
        Assert.Equal(0, setrlimit(RLIMIT_FSIZE, ref lowered));
        Exception? error;
        try { error = Record.Exception(() => StateDicts.Save(big, path)); }
        finally { Assert.Equal(0, setrlimit(RLIMIT_FSIZE, ref saved)); }
        Assert.True(error is IOException, error?.ToString());
        FaultAssert.OneLine(error!.Message, path, "previous file is kept");
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [SkippableFact]
    public void FileSizeLimitWhileAppendingMetricsNamesTheFileAndKeepsRows()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.Is64BitProcess, NotLinux64);
        using var dir = new FaultDir();
        Assert.Equal(0, getrlimit(RLIMIT_FSIZE, out var saved));
        var lowered = new RLimit { Current = 64 << 10, Max = saved.Max };   // ulimit -f 64
        Exception? error;
        using (var log = new TrainingLog(dir.Path, tensorboard: false, console: TextWriter.Null))
        {
            Assert.Equal(0, setrlimit(RLIMIT_FSIZE, ref lowered));
            try { error = Record.Exception(() => { for (long s = 0; s < 100_000; s++) log.Step(new StepMetrics(s, 0, s / 1e5, 0.5f, 1e-4, 100, s), 1, 100_000, false); }); }
            finally { Assert.Equal(0, setrlimit(RLIMIT_FSIZE, ref saved)); }
        }
        Assert.True(error is IOException, error?.ToString());
        FaultAssert.OneLine(error!.Message, dir[TrainingLog.CsvFileName], "file-size limit", "rows before it are kept");
        var rows = TrainingLog.ReadCsv(dir[TrainingLog.CsvFileName], out _);
        Assert.True(rows.Count > 100);
    }
}

// EvalLog: eval.csv, one row per evaluation of a classifier run (the loop's evaluation hook writes it).
using System.Globalization;
using MaeDsl.IO;

namespace MaeDsl.Training.Loop;

/// <summary>eval.csv: <c>epoch,test_acc1,test_acc5,test_loss,train_loss,train_seconds</c>, one row per evaluation.</summary>
internal static class EvalLog
{
    public const string CsvFileName = "eval.csv";
    public const string CsvHeader = "epoch,test_acc1,test_acc5,test_loss,train_loss,train_seconds";

    static string Format(EpochEval e) => string.Create(CultureInfo.InvariantCulture,
        $"{e.Epoch},{e.Top1:R},{e.Top5:R},{e.TestLoss:R},{e.TrainLoss:R},{e.TrainSeconds:F3}");

    /// <summary>Rewrites the file with <paramref name="rows"/> (atomically).</summary>
    public static void Write(string path, IEnumerable<EpochEval> rows) => AtomicFile.Write(path, stream =>
    {
        using var w = new StreamWriter(stream, leaveOpen: true);
        w.WriteLine(CsvHeader);
        foreach (var r in rows) w.WriteLine(Format(r));
    });

    /// <summary>Appends one row; the file is closed (flushed to the OS) after it, so a crash loses at most that row.</summary>
    /// <exception cref="IOException">The row could not be written (e.g. no space left); the message names the file.</exception>
    public static void Append(string path, EpochEval row)
    {
        try { File.AppendAllText(path, Format(row) + "\n"); }
        catch (Exception e) when (AtomicFile.IsWriteFailure(e))
        {
            throw new IOException(
                $"{path}: could not append the evaluation of epoch {row.Epoch} ({AtomicFile.WriteFailureText(e)}); the rows before it are kept.", e);
        }
    }

    /// <summary>Reads an eval.csv written by a fine-tune or linear-probe run; a torn last row (a crash while it was written) is dropped.</summary>
    /// <exception cref="InvalidDataException">Not an eval log, or a damaged row before the last; the message names the file and line.</exception>
    public static List<EpochEval> Read(string path) => Read(path, out _);

    /// <summary>As <see cref="Read(string)"/>; <paramref name="tornTail"/> is the dropped last row, if any.</summary>
    public static List<EpochEval> Read(string path, out string? tornTail)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"eval log not found: {Path.GetFullPath(path)}", path);
        var c = CultureInfo.InvariantCulture;
        return CsvLines.ReadRows(path, CsvHeader, "an eval log", f =>
            int.TryParse(f[0], NumberStyles.Integer, c, out int epoch)
            && double.TryParse(f[1], NumberStyles.Float, c, out double top1) && double.TryParse(f[2], NumberStyles.Float, c, out double top5)
            && double.TryParse(f[3], NumberStyles.Float, c, out double testLoss) && double.TryParse(f[4], NumberStyles.Float, c, out double trainLoss)
            && double.TryParse(f[5], NumberStyles.Float, c, out double seconds)
                ? new EpochEval(epoch, top1, top5, testLoss, trainLoss, seconds) : null, out tornTail);
    }
}

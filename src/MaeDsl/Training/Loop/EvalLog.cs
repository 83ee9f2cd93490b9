// EvalLog: eval.csv, one row per evaluation of a classifier run (the loop's evaluation hook writes it).
using System.Globalization;
using MaeDsl.IO;

namespace MaeDsl.Training.Loop;

/// <summary>eval.csv: <c>epoch,test_acc1,test_acc5,test_loss,train_loss,train_seconds</c>, one row per evaluation.</summary>
public static class EvalLog
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

    public static void Append(string path, EpochEval row) => File.AppendAllText(path, Format(row) + Environment.NewLine);

    /// <summary>Reads an eval.csv written by a fine-tune or linear-probe run.</summary>
    public static List<EpochEval> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"eval log not found: {Path.GetFullPath(path)}", path);
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != CsvHeader)
            throw new InvalidDataException($"{path}: not an eval log (expected the header '{CsvHeader}').");
        var c = CultureInfo.InvariantCulture;
        var rows = new List<EpochEval>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var f = lines[i].Split(',');
            if (f.Length != 6) throw new InvalidDataException($"{path}:{i + 1}: expected 6 fields, got {f.Length}.");
            rows.Add(new EpochEval(int.Parse(f[0], c), double.Parse(f[1], c), double.Parse(f[2], c), double.Parse(f[3], c), double.Parse(f[4], c), double.Parse(f[5], c)));
        }
        return rows;
    }
}

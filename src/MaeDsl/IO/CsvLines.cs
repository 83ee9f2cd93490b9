// CsvLines: the lines of a log file and whether its last line was completed (a crash can cut it).
namespace MaeDsl.IO;

/// <summary>Reads a text log as lines, telling whether the last line ends with a line break (a complete row).</summary>
internal static class CsvLines
{
    /// <summary>The lines of <paramref name="path"/> ("\n" or "\r\n"); <paramref name="endsWithNewline"/> is false when the last line was cut.</summary>
    /// <exception cref="FileNotFoundException">No such file; the message names it.</exception>
    public static List<string> Read(string path, out bool endsWithNewline)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"log not found: {Path.GetFullPath(path)}", path);
        FileKinds.RequireRegular(path, "log (CSV)");   // a FIFO would block the read
        string text = File.ReadAllText(path);
        endsWithNewline = text.Length == 0 || text[^1] == '\n';
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (endsWithNewline && lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    /// <summary>
    /// The rows of a CSV log with header <paramref name="header"/>, each parsed by <paramref name="parse"/> (null = damaged).
    /// The last row, when it cannot be parsed or lacks its line end (a crash cut it), is dropped and returned in
    /// <paramref name="tornTail"/>; a damaged row before it, or another header, is an <see cref="InvalidDataException"/>
    /// naming the file (and line) and what was expected (<paramref name="what"/>: "a metrics CSV").
    /// </summary>
    public static List<T> ReadRows<T>(string path, string header, string what, Func<string[], T?> parse, out string? tornTail) where T : class
    {
        tornTail = null;
        var lines = Read(path, out bool endsWithNewline);
        if (lines.Count == 0 || lines[0] != header)
            throw new InvalidDataException($"{path}: not {what} (expected the header '{header}', got '{(lines.Count == 0 ? "" : lines[0])}')");
        int fields = header.Split(',').Length;
        var rows = new List<T>();
        for (int i = 1; i < lines.Count; i++)
        {
            string line = lines[i];
            if (line.Length == 0) continue;
            var f = line.Split(',');
            T? row = f.Length == fields ? parse(f) : null;
            if (i == lines.Count - 1 && (row is null || !endsWithNewline)) { tornTail = line; break; }
            rows.Add(row ?? throw new InvalidDataException($"{path}:{i + 1}: damaged row '{line}'; expected {fields} numeric fields ({header})"));
        }
        return rows;
    }
}

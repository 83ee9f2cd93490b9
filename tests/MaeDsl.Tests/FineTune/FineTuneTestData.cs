namespace MaeDsl.Tests.FineTune;

/// <summary>Paths of the reference files these tests read; a missing file fails the test with its name.</summary>
static class FineTuneTestData
{
    public static string ReferencePath(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Reference", fileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Reference file '{path}' is missing: it is committed under tests/MaeDsl.Tests/Reference/ and copied to the output (see Reference/README.md).", path);
        return path;
    }

    /// <summary>(name, shape) rows of a *.keys.tsv file, in the official order.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> ReadKeys(string fileName)
    {
        var rows = new List<(string, long[])>();
        foreach (var line in File.ReadAllLines(ReferencePath(fileName)))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var cols = line.Split('\t');
            if (cols.Length != 2) throw new InvalidDataException($"{fileName}: expected 'name<TAB>shape', got '{line}'.");
            rows.Add((cols[0], cols[1].Split('x').Select(long.Parse).ToArray()));
        }
        return rows;
    }
}

// RunHistory: history.jsonl, one line per start, resume (with the options it changed) and stop of a run.
using System.Text.Json.Nodes;

namespace MaeDsl.Training.Loop;

/// <summary>Appends the events of a run folder's life to <see cref="FileName"/>, each with its UTC time.</summary>
internal static class RunHistory
{
    /// <summary>history.jsonl: one line per start, resume and stop of the run.</summary>
    public const string FileName = "history.jsonl";

    internal static void Started(string outputDir) => Append(outputDir, new JsonObject { ["event"] = "start" });

    internal static void Resumed(string outputDir, RunProgress from, IReadOnlyList<OptionChange> changes) => Append(outputDir, new JsonObject
    {
        ["event"] = "resume", ["from"] = from.LastCheckpoint, ["epoch"] = from.StartEpoch, ["step_in_epoch"] = from.StartStep,
        ["global_step"] = from.GlobalStep,
        ["changes"] = new JsonArray(changes.Select(c => (JsonNode)new JsonObject
            { ["option"] = "--" + c.Name, ["checkpoint"] = c.Checkpoint, ["this_run"] = c.ThisRun }).ToArray()),
    });

    internal static void Stopped(string outputDir, string checkpoint, long globalStep) =>
        Append(outputDir, new JsonObject { ["event"] = "stopped", ["checkpoint"] = checkpoint, ["global_step"] = globalStep });

    static void Append(string outputDir, JsonObject entry)
    {
        var line = new JsonObject { ["utc"] = DateTime.UtcNow.ToString("O") };
        foreach (var (k, v) in entry) line[k] = v?.DeepClone();
        File.AppendAllText(Path.Combine(outputDir, FileName), line.ToJsonString() + "\n");
    }
}

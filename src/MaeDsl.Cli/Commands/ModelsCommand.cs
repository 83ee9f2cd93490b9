// `models`: the registered models (key, class, image, parameters, default, assembly, description) as a table, and keys that two
// assemblies share; and the runner's lookup of --model, in the command line's words.
using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace MaeDsl.Cli;

/// <summary>`models`: what --model accepts, one row per registered model.</summary>
internal static class ModelsCommand
{
    /// <summary>The model --model (or a checkpoint's recorded model) names; an <see cref="ArgumentException"/> in --model's words otherwise.</summary>
    public static MaeModelInfo Find(string name)
    {
        var matches = MaeModels.Matches(name);
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new ArgumentException($"--model '{name}' is not a registered model: choose one of {MaeModels.KeyList()}"),
            _ => throw new ArgumentException($"--model '{name}' is ambiguous: it names {MaeModels.Describe(matches)}; use a full class name"),
        };
    }

    public static Command Create(bool useDefault = true)
    {
        var command = new Command("models", "List the registered models (what --model accepts): key, class, image, parameters, default, assembly.");
        command.SetAction(parse => OneLineErrors.Guarded(() => Print(MaeModels.All, useDefault)));
        return command;
    }

    /// <summary>The table of <paramref name="all"/> (<paramref name="showDefault"/>: with the models marked default); then one error line
    /// (exit code 1) when two of them share a key, or two are marked default.</summary>
    internal static int Print(IReadOnlyList<MaeModelInfo> all, bool showDefault)
    {
        if (all.Count == 0) { Console.WriteLine("no model is registered"); return 0; }
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in new[] { "key", "class", "image", "patches", "parameters", "default", "assembly", "description" })
            table.AddColumn(column);
        foreach (var m in all)
        {
            var s = m.Spec;
            table.AddRow(new[]
            {
                m.Key, m.ClassName, $"{s.ImageSize}×{s.ImageSize}×{s.Channels}", $"{s.NumPatches} of {s.PatchSize}×{s.PatchSize}",
                s.ParameterCount.ToString("N0", CultureInfo.InvariantCulture), showDefault && m.IsDefault ? "yes" : "",
                m.Assembly.GetName().Name ?? "", m.Description,
            }.Select(Markup.Escape).ToArray());
        }
        // a console of its own over Console.Out, so that redirected output (and tests) get the table too
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out), Interactive = InteractionSupport.No });
        console.Profile.Width = Math.Max(console.Profile.Width, 200);
        console.Write(table);
        var problems = MaeModels.Conflicts(all).Select(c => $"{c}: --model with such a key is ambiguous; change the key in one of them").ToList();
        if (MaeModels.DefaultsOf(all) is { Count: > 1 } defaults && showDefault)
            problems.Add($"{MaeModels.Describe(defaults)} are each marked [MaeModel(Default = true)]: a command without --model is ambiguous; keep it on " +
                $"one of them");
        if (problems.Count == 0) return 0;
        Console.Error.WriteLine($"error: {string.Join("; ", problems)} (MAE013)");
        return 1;
    }
}

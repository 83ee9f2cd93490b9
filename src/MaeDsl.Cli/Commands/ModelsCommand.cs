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
        command.SetAction(parse => OneLineErrors.Guarded(() => Print(MaeModels.All, useDefault ? MaeModels.Default : null)));
        return command;
    }

    /// <summary>The table of <paramref name="all"/>; then one error line (exit code 1) when two of them share a key.</summary>
    internal static int Print(IReadOnlyList<MaeModelInfo> all, MaeModelInfo? defaultModel)
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
                s.ParameterCount.ToString("N0", CultureInfo.InvariantCulture), ReferenceEquals(m, defaultModel) ? "yes" : "",
                m.Assembly.GetName().Name ?? "", m.Description,
            }.Select(Markup.Escape).ToArray());
        }
        // a console of its own over Console.Out, so that redirected output (and tests) get the table too
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out), Interactive = InteractionSupport.No });
        console.Profile.Width = Math.Max(console.Profile.Width, 200);
        console.Write(table);
        var conflicts = MaeModels.Conflicts(all);
        if (conflicts.Count == 0) return 0;
        Console.Error.WriteLine($"error: {string.Join("; ", conflicts)}: --model with such a key is ambiguous; change the key in one of them (MAE013)");
        return 1;
    }
}

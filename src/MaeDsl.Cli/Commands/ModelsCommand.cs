// `models`: the registered models (key, class, image, parameters, default, assembly, description) as a table.
using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace MaeDsl.Cli;

/// <summary>`models`: what --model accepts, one row per registered model.</summary>
internal static class ModelsCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("models", "List the registered models (what --model accepts): key, class, image, parameters, default, assembly.");
        command.SetAction(parse => Run.Guarded(() =>
        {
            var all = MaeModels.All;
            if (all.Count == 0) { Console.WriteLine("no model is registered"); return 0; }
            var defaultModel = useDefault ? MaeModels.Default : null;
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
            return 0;
        }));
        return command;
    }
}

// The runner's command-line form of RunOptions' declarations (RunOptionDeclarations in the library): each System.CommandLine
// option is made from its declaration (name, help, the recipe's default in the help) and bound back to RunOptions by it, and
// the class, for a resume, of the options that only the runner has.
using System.CommandLine;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>
/// The options a command offers for some <see cref="RunOptionDeclarations"/>, each not set unless typed: a value not typed keeps the
/// recipe's (so an error can tell what the user typed from a default), and the help shows that default.
/// </summary>
internal sealed class DeclaredOptions
{
    readonly List<(RunOptionDeclaration Declaration, Option Option, Func<RunOptions, ParseResult, RunOptions> Bind)> options = [];

    /// <param name="defaults">The help text's default of a declaration ("50"; "3 for tiny, 400 official").</param>
    /// <param name="declarations">The options, in the order the help lists them.</param>
    public DeclaredOptions(Func<RunOptionDeclaration, string> defaults, params RunOptionDeclaration[] declarations)
    {
        foreach (var d in declarations)
        {
            string name = "--" + d.Name, help = $"{d.Help} (default: {defaults(d)})";
            switch (d)
            {
                case RunOptionDeclaration<int> x:
                {
                    var o = new Option<int?>(name) { Description = help };
                    options.Add((d, o, (run, parse) => parse.GetValue(o) is { } v ? x.Set(run, v) : run));
                    break;
                }
                case RunOptionDeclaration<double> x:
                {
                    var o = new Option<double?>(name) { Description = help };
                    options.Add((d, o, (run, parse) => parse.GetValue(o) is { } v ? x.Set(run, v) : run));
                    break;
                }
                case RunOptionDeclaration<double?> x:
                {
                    var o = new Option<double?>(name) { Description = help };
                    options.Add((d, o, (run, parse) => parse.GetValue(o) is { } v ? x.Set(run, v) : run));
                    break;
                }
                default: throw new ArgumentException($"{name}: no command-line form for {d.GetType().Name}", nameof(declarations));
            }
        }
    }

    /// <summary>The default of a declaration for a recipe whose values are <paramref name="run"/>.</summary>
    public static Func<RunOptionDeclaration, string> DefaultsOf(RunOptions run) => d => d.Show(run);

    /// <summary>The option of <paramref name="declaration"/>.</summary>
    public Option this[RunOptionDeclaration declaration] => options.Single(x => x.Declaration == declaration).Option;

    public IEnumerable<Option> Options => options.Select(x => x.Option);

    /// <summary>Whether the user typed <paramref name="declaration"/>'s option (not typed: the recipe's default holds).</summary>
    public bool Typed(RunOptionDeclaration declaration, ParseResult parse) => parse.GetResult(this[declaration]) is not null;

    /// <summary><paramref name="recipe"/> with the values typed on the command line.</summary>
    public RunOptions Bind(RunOptions recipe, ParseResult parse) => options.Aggregate(recipe, (run, x) => x.Bind(run, parse));
}

/// <summary>The class, for a resume, of the runner's options that set no <see cref="RunOptions"/> or recipe property.</summary>
internal static class CommandLineClasses
{
    const OptionClass T = OptionClass.Trajectory, B = OptionClass.Bookkeeping;

    static readonly Dictionary<string, OptionClass> Own = new()
    {
        ["model"] = T, ["variant"] = T, ["dataset"] = T, ["data-dir"] = B /* its images are identified by "inputs" */, ["train-limit"] = T,
        ["recipe"] = T /* named defaults: the values it gives are compared */, ["mask-ratio"] = T, ["pretrained"] = T,
        ["cls-token"] = T /* GlobalPool = false */, ["vit-base-recipe"] = T /* sets --blr and --layer-decay, compared as such */,
        ["no-tensorboard"] = B, ["overwrite"] = B, ["test-limit"] = B /* evaluation only */, ["eval-limit"] = B, ["help"] = B, ["version"] = B,
    };

    /// <summary>The class of a command-line option (name with or without dashes), or null when it is not classified.</summary>
    public static OptionClass? For(string option)
    {
        string name = option.TrimStart('-');
        return Own.TryGetValue(name, out var c) ? c : OptionClasses.Named(name)?.Class;
    }
}

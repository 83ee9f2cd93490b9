// The runner's entry point: `return MaeDsl.Cli.MaeCli.Run(args);` in an application's Program.cs gives it the
// commands pretrain, evaluate, finetune, linprobe, bench, results, export-images, models, reconstruct, embed, predict and the main job for every registered
// model.
using System.CommandLine;
using System.Globalization;

namespace MaeDsl.Cli;

/// <summary>
/// The MaeDsl command line. The models are those the generator registered in <see cref="MaeModels"/> (every
/// <c>[Encoder]</c>/<c>[Decoder]</c> class of the loaded assemblies, the presets included); <c>--model</c> (alias
/// <c>--variant</c>) picks one by key or class name. With no command it runs the main job (pre-train, pictures,
/// k-NN) on <see cref="MaeModels.Default"/>, or prints the help when no model is marked default.
/// </summary>
public static class MaeCli
{
    /// <summary>Parses <paramref name="args"/> and runs the command; the process exit code (0 success, 1 error, 130 stopped).</summary>
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    /// <summary>As <see cref="Run"/>, asynchronously.</summary>
    public static Task<int> RunAsync(string[] args, CancellationToken cancel = default)
    {
        // Ctrl-C stops a run between two steps, its last checkpoint the resume point
        return InvokeAsync(CreateRootCommand(), args, cancel);
    }

    /// <summary>The root command (the main job) with its commands, for a host that adds its own.</summary>
    public static RootCommand CreateRootCommand() => CreateRootCommand(useDefault: true);

    /// <param name="useDefault">False: behave as if no model were marked default (tests of the help fallback).</param>
    internal static RootCommand CreateRootCommand(bool useDefault)
    {
        var root = MainJobCommand.Create(useDefault);
        root.Subcommands.Add(PretrainCommand.Create(useDefault));
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(BenchCommand.Create(useDefault));
        root.Subcommands.Add(FineTuneCommand.Create(useDefault));
        root.Subcommands.Add(LinProbeCommand.Create(useDefault));
        root.Subcommands.Add(ResultsCommand.Create(useDefault));
        root.Subcommands.Add(AblateCommand.Create(useDefault));
        root.Subcommands.Add(ExportImagesCommand.Create(useDefault));
        root.Subcommands.Add(ModelsCommand.Create(useDefault));
        root.Subcommands.Add(ReconstructCommand.Create(useDefault));
        root.Subcommands.Add(EmbedCommand.Create(useDefault));
        root.Subcommands.Add(PredictCommand.Create(useDefault));
        return root;
    }

    /// <summary>Runs <paramref name="args"/> on <paramref name="root"/> as <see cref="RunAsync"/> does.</summary>
    internal static async Task<int> InvokeAsync(RootCommand root, string[] args, CancellationToken cancel = default)
    {
        // Ctrl-C/SIGTERM are the runner's (StopSignals): a training command stops after its current step, however long the step
        // and the checkpoint write take; System.CommandLine's handling is off (its default kills the process after 2 s).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var signals = StopSignals.Install(stop);
        // Every number the runner prints, and every one it tells the user to type, is invariant whatever LANG says (the options are
        // read invariant regardless: InvariantNumbers); the host's culture is restored after the command.
        var (culture, uiCulture) = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
        try { return await InvokeInvariantAsync(root, args, stop.Token).ConfigureAwait(false); }
        finally { (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = (culture, uiCulture); }
    }

    static async Task<int> InvokeInvariantAsync(RootCommand root, string[] args, CancellationToken cancel)
    {
        Arguments = args;
        var parse = Parse(root, args);
        if (parse.Errors.Count > 0)
        {
            // A malformed command line is refused like any other input: one line, not the help page.
            string command = string.Join(' ', parse.CommandResult.Command.Name is var name && name == root.Name ? [] : new[] { name });
            string errors = string.Join("; ",
                parse.Errors.Select(e => string.Join(' ', e.Message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries))));
            Console.Error.WriteLine($"error: {errors} (see '{(command.Length > 0 ? command + " " : "")}--help')");
            return 1;
        }
        int code = await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, cancel).ConfigureAwait(false);
        if (Environment.GetEnvironmentVariable(GcReportVariable) == "1") Console.WriteLine(MaeDsl.Native.NoGcDuringTorch.Report());
        return code;
    }

    /// <summary>Parses <paramref name="args"/> as the runner does: every numeric option read invariant (<see cref="InvariantNumbers"/>).</summary>
    internal static ParseResult Parse(RootCommand root, IReadOnlyList<string> args)
    {
        InvariantNumbers.Apply(root);
        return root.Parse(args);
    }

    /// <summary>Diagnostic: with <c>MAEDSL_GC_REPORT=1</c> a command ends with one line `gc: gen0 N, gen1 N, gen2 N collections;
    /// torch units N, unprotected N, region lost N` on stdout (eng/gc-stress.sh reads it).</summary>
    public const string GcReportVariable = "MAEDSL_GC_REPORT";

    /// <summary>The arguments of the command running (the resume line repeats them).</summary>
    internal static IReadOnlyList<string> Arguments { get; private set; } = [];
}

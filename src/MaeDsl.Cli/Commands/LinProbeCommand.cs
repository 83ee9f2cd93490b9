// `linprobe`: linear probe of a frozen model's encoder (main_linprobe.py recipe: BatchNorm + Linear head, LARS).
using System.CommandLine;
using System.Globalization;
using MaeDsl;
using MaeDsl.Training;
using MaeDsl.Training.LinearProbing;

namespace MaeDsl.Cli;

/// <summary><c>linprobe</c>: linear probing of a frozen pre-trained encoder with the official main_linprobe.py recipe (see <see cref="LinearProbeOptions"/>).</summary>
internal static class LinProbeCommand
{
    public static Command Create(bool useDefault = true)
    {
        var defaults = new LinearProbeOptions();
        var command = new Command("linprobe", $"Linear probe of a frozen model's encoder (main_linprobe.py recipe: BatchNorm + Linear head, LARS)");
        var run = new ClassifierRunArguments(defaults, "probe");
        var globalPool = new Option<bool>("--global-pool") { Description = "Probe the mean of the patch tokens (+ fc_norm) instead of the cls token" };
        var data = new EvalArguments(useDefault);
        run.AddTo(command, data, globalPool);

        command.SetAction((parse, cancel) => Run.GuardedAsync(() =>
        {
            LinearProbeOptions Build(EvalArguments.Loaded? loaded)
            {
                var options = run.Apply(defaults, parse, data, loaded) with { GlobalPool = parse.GetValue(globalPool) };
                options.Validate();
                return options;
            }
            Build(null);                                   // every option checked before the data is read
            string? weights = run.ReadPretrained(parse);
            var loaded = data.Load(parse);
            var (registered, sources, train, test, _, description) = loaded;
            var spec = registered.Spec;
            var options = Build(loaded);
            options = options with { Run = DataParallel.WithRanks(options.Run) };
            Console.WriteLine($"linear probe {registered.ClassName} on {description}");
            VitClassifier model;
            if (weights is not null)
                (model, _) = LinearProbe.LoadPretrained(spec, weights, options, options.Run.Seed, Console.WriteLine);
            else
            {
                Console.WriteLine("no --pretrained: probing a randomly initialised encoder");
                model = LinearProbe.CreateModel(spec, options, options.Run.Seed);
            }
            using (model)
            using (var probe = new LinearProbe(model, options))
            {
                probe.Loop.Group = DataParallel.Join();
                probe.Loop.Inputs[OptionClasses.InputKeys.Dataset] = DataSources.Identity(parse.GetValue(data.Common.Dataset)!);
                Console.WriteLine($"{ClassifierRunArguments.DescribeLr(options)}, LARS");
                ClassifierRunArguments.PrintResult(probe.Run(train, test, sources.Normalization, console: null, cancel: cancel), options);
            }
            return 0;
        }));
        return command;
    }
}

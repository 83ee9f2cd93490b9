using System.CommandLine;
using System.Globalization;
using MaeDsl;
using MaeDsl.Training;
using MaeDsl.Training.LinearProbing;

namespace Quickstart.Commands;

/// <summary><c>linprobe</c>: linear probing of a frozen pre-trained encoder with the official main_linprobe.py recipe (see <see cref="LinearProbeOptions"/>).</summary>
public static class LinProbeCommand
{
    public static Command Create()
    {
        var defaults = new LinearProbeOptions();
        var command = new Command("linprobe", $"Linear probe of a frozen variant's encoder (main_linprobe.py recipe: BatchNorm + Linear head, LARS)");
        var run = new ClassifierRunArguments(defaults, "probe");
        var globalPool = new Option<bool>("--global-pool") { Description = "Probe the mean of the patch tokens (+ fc_norm) instead of the cls token" };
        var data = new EvalArguments();
        run.AddTo(command, data, globalPool);

        command.SetAction(parse => Run.Guarded(() =>
        {
            MaeDsl.Native.TorchRuntime.EnsureLoaded();
            var loaded = data.Load(parse);
            var (variant, sources, train, test, _, description) = loaded;
            var spec = variant.Spec;
            var options = run.Apply(defaults, parse, loaded) with { GlobalPool = parse.GetValue(globalPool) };
            options.Validate();
            Console.WriteLine($"linear probe {variant.ClassName} on {description}");
            string? weights = parse.GetValue(run.Pretrained);
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
                Console.WriteLine($"{ClassifierRunArguments.DescribeLr(options)}, LARS");
                ClassifierRunArguments.PrintResult(probe.Run(train, test, sources.Normalization, console: null), options);
            }
            return 0;
        }));
        return command;
    }
}

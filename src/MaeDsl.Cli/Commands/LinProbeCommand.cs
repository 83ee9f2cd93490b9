// `linprobe`: linear probe of a frozen model's encoder (main_linprobe.py recipe: BatchNorm + Linear head, LARS).
using System.CommandLine;
using MaeDsl;
using MaeDsl.Training;
using MaeDsl.Training.LinearProbing;

namespace MaeDsl.Cli;

/// <summary><c>linprobe</c>: linear probing of a frozen pre-trained encoder with the official main_linprobe.py recipe (see <see
/// cref="LinearProbeOptions"/>).</summary>
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

        new ClassifierCommand<LinearProbeOptions>("linear probe",
            Own: (o, parse) => o with { GlobalPool = parse.GetValue(globalPool) },
            Load: (spec, weights, o) => LinearProbe.LoadPretrained(spec, weights, o, o.Run.Seed, Console.WriteLine).Model,
            Random: ((spec, o) => LinearProbe.CreateModel(spec, o, o.Run.Seed), "no --pretrained: probing a randomly initialised encoder"),
            Trainer: (model, o) =>
            {
                var probe = new LinearProbe(model, o);
                return new ClassifierTrainer(probe, probe.Loop, "LARS", (train, test, norm, cancel) => probe.Run(train, test, norm, console: null,
                    cancel: cancel));
            }) { Workload = MaeDsl.PrecisionWorkload.Encode }.SetAction(command, defaults, run, data);
        return command;
    }
}

// The one action of finetune and linprobe: check every option before any work, load the data, build the classifier (from
// --pretrained weights or randomly initialised), run the recipe, print the lr line and the result.
using System.CommandLine;
using MaeDsl;
using MaeDsl.Data;
using MaeDsl.Training;
using MaeDsl.Training.Loop;

namespace MaeDsl.Cli;

/// <summary>A classifier recipe's trainer as the shared action drives it (a FineTuner or a LinearProbe).</summary>
/// <param name="Trainer">Disposed after the run.</param>
/// <param name="Loop">Its training loop (the data's identity goes into its inputs).</param>
/// <param name="Line">What the recipe prints after the lr (e.g. "layer decay 0.75, 14 param groups").</param>
/// <param name="Run">Runs it on (train, held-out, normalisation, cancel).</param>
internal sealed record ClassifierTrainer(IDisposable Trainer, TrainingLoop Loop, string Line,
    Func<IImageDataset, IImageDataset, Normalization?, CancellationToken, ClassifierRunResult> Run);

/// <summary>What finetune and linprobe differ in; <see cref="SetAction"/> is their one action.</summary>
/// <param name="Title">How the first line names the run ("fine-tune", "linear probe").</param>
/// <param name="Own">The recipe's own options over the shared ones (from the command line; called before and after loading the data).</param>
/// <param name="Load">The classifier with --pretrained weights (the path), printing what it loaded.</param>
/// <param name="Random">A randomly initialised classifier, and the line that says so.</param>
/// <param name="Trainer">The recipe's trainer of a classifier.</param>
internal sealed record ClassifierCommand<TOptions>(string Title, Func<TOptions, ParseResult, TOptions> Own,
    Func<MaeSpec, string, TOptions, VitClassifier> Load, (Func<MaeSpec, TOptions, VitClassifier> Create, string Line) Random,
    Func<VitClassifier, TOptions, ClassifierTrainer> Trainer) where TOptions : ClassifierOptions
{
    /// <summary>The step --precision auto times: a classifier's (fine-tuning), or the frozen encoder's forward (linear probing).</summary>
    public MaeDsl.PrecisionWorkload Workload { get; init; } = MaeDsl.PrecisionWorkload.Classifier;

    /// <summary>Sets the action of <paramref name="command"/>, whose options <paramref name="run"/> and <paramref name="data"/> added.</summary>
    public void SetAction(Command command, TOptions defaults, ClassifierRunArguments run, EvalArguments data) =>
        command.SetAction((parse, cancel) => OneLineErrors.GuardedAsync(() =>
        {
            TOptions Build(EvalArguments.Loaded? loaded)
            {
                var options = Own(run.Apply(defaults, parse, data, loaded), parse);
                options.Validate();
                return options;
            }
            return run.RunInFolder(parse, data, Build, (weights, loaded, options) =>
            {
                var (registered, sources, train, test, _, description) = loaded;
                var spec = registered.Spec;
                var precision = DataParallel.Agree(PrecisionOption.Choose(PrecisionOption.IsAuto(parse, run.Control.Precision), options.Run.Precision, spec,
                    Workload, options.Run.BatchSize, options.Run.Resume));
                options = options with { Run = DataParallel.WithRanks(options.Run) with { Precision = precision.Precision } };
                options.Run.RequireOptimizerSteps(train.Count, data.Common.ReadTrainLimit(parse) is { } n ? $"--train-limit {n}" : null,
                    batchTyped: run.Schedule.Typed(RunOptionDeclarations.Batch, parse), accumTyped: run.Schedule.Typed(RunOptionDeclarations.Accum, parse));
                Console.WriteLine($"{Title} {registered.ClassName} on {description}");
                VitClassifier model;
                if (weights is not null) model = Load(spec, weights, options);
                else
                {
                    Console.WriteLine(Random.Line);
                    model = Random.Create(spec, options);
                }
                using (model)
                {
                    var trainer = Trainer(model, options);
                    trainer.Loop.Group = DataParallel.Join();
                    using (trainer.Trainer)
                    {
                        trainer.Loop.Inputs[OptionClasses.InputKeys.Dataset] = DataSources.Identity(parse.GetValue(data.Common.Dataset)!);
                        if (loaded.TrainSubset is { } subset) trainer.Loop.Inputs[DataSources.TrainSubsetKey] = subset;
                        if (precision.Auto is { } auto) trainer.Loop.Derived[PrecisionChoice.DerivedKey] = auto.ToJson();
                        Console.WriteLine($"{ClassifierRunArguments.DescribeLr(options)}, {trainer.Line}, precision: {precision}");
                        ClassifierRunArguments.PrintResult(trainer.Run(train, test, sources.Normalization, cancel), options);
                    }
                }
                return 0;
            });
        }));
}

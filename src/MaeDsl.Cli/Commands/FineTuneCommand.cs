// `finetune`: end-to-end fine-tuning of a model's encoder (main_finetune.py recipe), from pre-trained weights or from scratch.
using System.CommandLine;
using System.Globalization;
using MaeDsl;
using MaeDsl.Training;
using MaeDsl.Training.FineTuning;

namespace MaeDsl.Cli;

/// <summary>
/// <c>finetune</c>: end-to-end fine-tuning of a pre-trained MAE encoder with the official main_finetune.py recipe
/// (see <see cref="FineTuneOptions"/>); <c>--pretrained</c> takes the .safetensors (or official .pth) weights a
/// pre-training run wrote. Without it the encoder is randomly initialised (training from scratch).
/// </summary>
internal static class FineTuneCommand
{
    public static Command Create(bool useDefault = true)
    {
        var defaults = new FineTuneOptions();
        var command = new Command("finetune", $"Fine-tune a model's encoder end to end (main_finetune.py recipe)");
        var run = new ClassifierRunArguments(defaults, "fine-tune");
        var layerDecay = new Option<double>("--layer-decay") { DefaultValueFactory = _ => defaults.LayerDecay };
        var dropPath = new Option<double>("--drop-path") { DefaultValueFactory = _ => defaults.DropPath };
        var clipGrad = new Option<double?>("--clip-grad") { Description = "Max gradient norm (default: none)" };
        var smoothing = new Option<double>("--smoothing") { DefaultValueFactory = _ => defaults.LabelSmoothing };
        var mixup = new Option<double>("--mixup") { DefaultValueFactory = _ => defaults.Mixup };
        var cutmix = new Option<double>("--cutmix") { DefaultValueFactory = _ => defaults.Cutmix };
        var reprob = new Option<double>("--reprob") { Description = "Random erasing probability", DefaultValueFactory = _ => defaults.RandomErasing };
        var aa = new Option<string>("--aa") { Description = $"RandAugment, timm's config string ({MaeDsl.Data.RandAugmentConfig.Grammar})", DefaultValueFactory = _ => defaults.AutoAugment };
        var clsToken = new Option<bool>("--cls-token") { Description = "Classify from the cls token + norm instead of global pooling + fc_norm" };
        var vitBase = new Option<bool>("--vit-base-recipe") { Description = "FINETUNE.md's ViT-B recipe: blr 5e-4, layer decay 0.65 (overrides --blr/--layer-decay)" };
        var data = new EvalArguments(useDefault);
        run.AddTo(command, data, layerDecay, dropPath, clipGrad, smoothing, mixup, cutmix, reprob, aa, clsToken, vitBase);

        command.SetAction((parse, cancel) => Run.GuardedAsync(() =>
        {
            FineTuneOptions Build(EvalArguments.Loaded? loaded)
            {
                var options = run.Apply(defaults, parse, data, loaded) with
                {
                    LayerDecay = parse.GetValue(layerDecay), DropPath = parse.GetValue(dropPath),
                    LabelSmoothing = parse.GetValue(smoothing), Mixup = parse.GetValue(mixup), Cutmix = parse.GetValue(cutmix),
                    RandomErasing = parse.GetValue(reprob), AutoAugment = parse.GetValue(aa)!, GlobalPool = !parse.GetValue(clsToken),
                };
                options = options with { Run = options.Run with { ClipGrad = parse.GetValue(clipGrad) } };
                var vitB = RecipePresets.VitBaseFineTune;
                if (parse.GetValue(vitBase)) options = options with { Run = options.Run with { BaseLr = vitB.Run.BaseLr }, LayerDecay = vitB.LayerDecay };
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
            Console.WriteLine($"fine-tune {registered.ClassName} on {description}");
            VitClassifier model;
            if (weights is not null)
                (model, _) = FineTuner.LoadPretrained(spec, weights, options.NumClasses, options.GlobalPool, options.DropPath, options.Run.Seed, Console.WriteLine);
            else
            {
                Console.WriteLine("no --pretrained: the encoder is randomly initialised (training from scratch)");
                model = new VitClassifier(spec, options.NumClasses, options.GlobalPool, options.DropPath, seed: options.Run.Seed);
            }
            using (model)
            using (var tuner = new FineTuner(model, options))
            {
                tuner.Loop.Group = DataParallel.Join();
                tuner.Loop.Inputs[OptionClasses.InputKeys.Dataset] = DataSources.Identity(parse.GetValue(data.Common.Dataset)!);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{ClassifierRunArguments.DescribeLr(options)}, layer decay {options.LayerDecay}, {tuner.Groups.Count} param groups"));
                ClassifierRunArguments.PrintResult(tuner.Run(train, test, sources.Normalization, console: null, cancel: cancel), options);
            }
            return 0;
        }));
        return command;
    }
}

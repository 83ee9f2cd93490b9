// `finetune`: end-to-end fine-tuning of a model's encoder (main_finetune.py recipe), from pre-trained weights or from scratch.
using System.CommandLine;
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
        var clipGrad = new DeclaredOptions(DeclaredOptions.DefaultsOf(defaults.Run), RunOptionDeclarations.ClipGrad);
        var smoothing = new Option<double>("--smoothing") { DefaultValueFactory = _ => defaults.LabelSmoothing };
        var mixup = new Option<double>("--mixup") { DefaultValueFactory = _ => defaults.Mixup };
        var cutmix = new Option<double>("--cutmix") { DefaultValueFactory = _ => defaults.Cutmix };
        var reprob = new Option<double>("--reprob") { Description = "Random erasing probability", DefaultValueFactory = _ => defaults.RandomErasing };
        var aa = new Option<string>("--aa") { Description = $"RandAugment, timm's config string ({MaeDsl.Data.RandAugmentConfig.Grammar})",
            DefaultValueFactory = _ => defaults.AutoAugment };
        var clsToken = new Option<bool>("--cls-token") { Description = "Classify from the cls token + norm instead of global pooling + fc_norm" };
        var vitBase = new Option<bool>("--vit-base-recipe") {
            Description = "FINETUNE.md's ViT-B recipe: blr 5e-4, layer decay 0.65 (overrides --blr/--layer-decay)" };
        var data = new EvalArguments(useDefault);
        run.AddTo(command, data, layerDecay, dropPath, clipGrad[RunOptionDeclarations.ClipGrad], smoothing, mixup, cutmix, reprob, aa, clsToken, vitBase);

        new ClassifierCommand<FineTuneOptions>("fine-tune",
            Own: (o, parse) =>
            {
                o = o with
                {
                    LayerDecay = parse.GetValue(layerDecay), DropPath = parse.GetValue(dropPath),
                    LabelSmoothing = parse.GetValue(smoothing), Mixup = parse.GetValue(mixup), Cutmix = parse.GetValue(cutmix),
                    RandomErasing = parse.GetValue(reprob), AutoAugment = parse.GetValue(aa)!, GlobalPool = !parse.GetValue(clsToken),
                };
                o = o with { Run = clipGrad.Bind(o.Run, parse) };
                var vitB = RecipePresets.VitBaseFineTune;
                return parse.GetValue(vitBase) ? o with { Run = o.Run with { BaseLr = vitB.Run.BaseLr }, LayerDecay = vitB.LayerDecay } : o;
            },
            Load: (spec, weights, o) => FineTuner.LoadPretrained(spec, weights, o.NumClasses, o.GlobalPool, o.DropPath, o.Run.Seed, Console.WriteLine).Model,
            Random: ((spec, o) => new VitClassifier(spec, o.NumClasses, o.GlobalPool, o.DropPath, seed: o.Run.Seed),
                "no --pretrained: the encoder is randomly initialised (training from scratch)"),
            Trainer: (model, o) =>
            {
                var tuner = new FineTuner(model, o);
                return new ClassifierTrainer(tuner, tuner.Loop, $"layer decay {o.LayerDecay}, {tuner.Groups.Count} param groups",
                    (train, test, norm, cancel) => tuner.Run(train, test, norm, console: null, cancel: cancel));
            }).SetAction(command, defaults, run, data);
        return command;
    }
}

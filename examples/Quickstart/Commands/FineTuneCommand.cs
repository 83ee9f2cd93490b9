using System.CommandLine;
using System.Globalization;
using MaeDsl;
using MaeDsl.Training;

namespace Quickstart.Commands;

/// <summary>
/// <c>finetune</c>: end-to-end fine-tuning of a pre-trained MAE encoder with the official main_finetune.py recipe
/// (see <see cref="FineTuneOptions"/>); <c>--pretrained</c> takes the .safetensors (or official .pth) weights a
/// pre-training run wrote. Without it the encoder is randomly initialised (training from scratch).
/// </summary>
public static class FineTuneCommand
{
    public static Command Create()
    {
        var defaults = new FineTuneOptions();
        var command = new Command("finetune", $"Fine-tune a variant's encoder end to end (main_finetune.py recipe; RandAugment not implemented)");
        var pretrained = new Option<string?>("--pretrained") { Description = "Pre-trained MAE weights (.safetensors or official .pth); omitted: random init (from scratch)" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => defaults.Epochs };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => defaults.BatchSize };
        var accum = new Option<int>("--accum") { DefaultValueFactory = _ => defaults.AccumIter };
        var blr = new Option<double>("--blr") { Description = "Base lr: lr = blr × batch × accum / 256", DefaultValueFactory = _ => defaults.BaseLr };
        var lr = new Option<double?>("--lr") { Description = "Absolute lr (overrides --blr)" };
        var layerDecay = new Option<double>("--layer-decay") { DefaultValueFactory = _ => defaults.LayerDecay };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => defaults.WeightDecay };
        var minLr = new Option<double>("--min-lr") { DefaultValueFactory = _ => defaults.MinLr };
        var warmup = new Option<double>("--warmup-epochs") { DefaultValueFactory = _ => defaults.WarmupEpochs };
        var dropPath = new Option<double>("--drop-path") { DefaultValueFactory = _ => defaults.DropPath };
        var clipGrad = new Option<double?>("--clip-grad") { Description = "Max gradient norm (default: none)" };
        var smoothing = new Option<double>("--smoothing") { DefaultValueFactory = _ => defaults.LabelSmoothing };
        var mixup = new Option<double>("--mixup") { DefaultValueFactory = _ => defaults.Mixup };
        var cutmix = new Option<double>("--cutmix") { DefaultValueFactory = _ => defaults.Cutmix };
        var reprob = new Option<double>("--reprob") { Description = "Random erasing probability", DefaultValueFactory = _ => defaults.RandomErasing };
        var clsToken = new Option<bool>("--cls-token") { Description = "Classify from the cls token + norm instead of global pooling + fc_norm" };
        var vitBase = new Option<bool>("--vit-base-recipe") { Description = "FINETUNE.md's ViT-B recipe: blr 5e-4, layer decay 0.65 (overrides --blr/--layer-decay)" };
        var output = new Option<string>("--output") { DefaultValueFactory = _ => defaults.OutputDir };
        var resume = new Option<string?>("--resume") { Description = "A checkpoint-*.ckpt of this fine-tune run" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var noTensorBoard = new Option<bool>("--no-tensorboard");
        var data = new EvalArguments();
        foreach (var o in new Option[] { pretrained, epochs, batch, accum, blr, lr, layerDecay, weightDecay, minLr, warmup, dropPath, clipGrad,
                     smoothing, mixup, cutmix, reprob, clsToken, vitBase, output, resume, seed, noTensorBoard })
            command.Options.Add(o);
        data.AddTo(command);

        command.SetAction(parse => Run.Guarded(() =>
        {
            MaeDsl.Native.TorchRuntime.EnsureLoaded();
            var (variant, sources, train, test, cropPct, description) = data.Load(parse);
            var spec = variant.Spec;
            var options = new FineTuneOptions
            {
                NumClasses = train.NumClasses,
                Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batch), AccumIter = parse.GetValue(accum),
                BaseLr = parse.GetValue(vitBase) ? 5e-4 : parse.GetValue(blr), Lr = parse.GetValue(lr),
                LayerDecay = parse.GetValue(vitBase) ? 0.65 : parse.GetValue(layerDecay),
                WeightDecay = parse.GetValue(weightDecay), MinLr = parse.GetValue(minLr), WarmupEpochs = parse.GetValue(warmup),
                DropPath = parse.GetValue(dropPath), ClipGrad = parse.GetValue(clipGrad), LabelSmoothing = parse.GetValue(smoothing),
                Mixup = parse.GetValue(mixup), Cutmix = parse.GetValue(cutmix), RandomErasing = parse.GetValue(reprob),
                GlobalPool = !parse.GetValue(clsToken), EvalCropPct = cropPct, Seed = parse.GetValue(seed),
                OutputDir = parse.GetValue(output)!, Resume = parse.GetValue(resume), TensorBoard = !parse.GetValue(noTensorBoard),
            };
            options.Validate();
            Console.WriteLine($"fine-tune {variant.ClassName} on {description}");
            string? weights = parse.GetValue(pretrained);
            VitClassifier model;
            if (weights is not null)
                (model, _) = FineTuner.LoadPretrained(spec, weights, options.NumClasses, options.GlobalPool, options.DropPath, options.Seed, Console.WriteLine);
            else
            {
                Console.WriteLine("no --pretrained: the encoder is randomly initialised (training from scratch)");
                model = new VitClassifier(spec, options.NumClasses, options.GlobalPool, options.DropPath, seed: options.Seed);
            }
            using (model)
            using (var tuner = new FineTuner(model, options))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"lr {options.AbsoluteLr:E2} (blr {options.BaseLr:E2} × {options.BatchSize * options.AccumIter} / 256), layer decay {options.LayerDecay}, {tuner.Groups.Count} param groups"));
                var result = tuner.Run(train, test, sources.Normalization, console: null);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"final top-1 {result.Final.Top1:F2}% top-5 {result.Final.Top5:F2}% (max {result.Best:F2}%), training {result.TrainSeconds:F0} s; logs in {Path.GetFullPath(options.OutputDir)}"));
            }
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;
using System.Globalization;
using MaeDsl;
using MaeDsl.Training;

namespace Quickstart.Commands;

/// <summary><c>linprobe</c>: linear probing of a frozen pre-trained encoder with the official main_linprobe.py recipe (see <see cref="LinearProbeOptions"/>).</summary>
public static class LinProbeCommand
{
    public static Command Create()
    {
        var defaults = new LinearProbeOptions();
        var command = new Command("linprobe", $"Linear probe of a frozen variant's encoder (main_linprobe.py recipe: BatchNorm + Linear head, LARS)");
        var pretrained = new Option<string?>("--pretrained") { Description = "Pre-trained MAE weights (.safetensors or official .pth); omitted: a random encoder" };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => defaults.Epochs };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => defaults.BatchSize };
        var accum = new Option<int>("--accum") { DefaultValueFactory = _ => defaults.AccumIter };
        var blr = new Option<double>("--blr") { Description = "Base lr: lr = blr × batch × accum / 256", DefaultValueFactory = _ => defaults.BaseLr };
        var lr = new Option<double?>("--lr") { Description = "Absolute lr (overrides --blr)" };
        var weightDecay = new Option<double>("--weight-decay") { DefaultValueFactory = _ => defaults.WeightDecay };
        var minLr = new Option<double>("--min-lr") { DefaultValueFactory = _ => defaults.MinLr };
        var warmup = new Option<double>("--warmup-epochs") { DefaultValueFactory = _ => defaults.WarmupEpochs };
        var globalPool = new Option<bool>("--global-pool") { Description = "Probe the mean of the patch tokens (+ fc_norm) instead of the cls token" };
        var output = new Option<string>("--output") { DefaultValueFactory = _ => defaults.OutputDir };
        var resume = new Option<string?>("--resume") { Description = "A checkpoint-*.ckpt of this probe run" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var noTensorBoard = new Option<bool>("--no-tensorboard");
        var data = new EvalArguments();
        foreach (var o in new Option[] { pretrained, epochs, batch, accum, blr, lr, weightDecay, minLr, warmup, globalPool, output, resume, seed, noTensorBoard })
            command.Options.Add(o);
        data.AddTo(command);

        command.SetAction(parse => Run.Guarded(() =>
        {
            MaeDsl.Native.TorchRuntime.EnsureLoaded();
            var (variant, sources, train, test, cropPct, description) = data.Load(parse);
            var spec = variant.Spec;
            var options = new LinearProbeOptions
            {
                NumClasses = train.NumClasses,
                Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batch), AccumIter = parse.GetValue(accum),
                BaseLr = parse.GetValue(blr), Lr = parse.GetValue(lr), WeightDecay = parse.GetValue(weightDecay),
                MinLr = parse.GetValue(minLr), WarmupEpochs = parse.GetValue(warmup), GlobalPool = parse.GetValue(globalPool),
                EvalCropPct = cropPct, Seed = parse.GetValue(seed), OutputDir = parse.GetValue(output)!, Resume = parse.GetValue(resume),
                TensorBoard = !parse.GetValue(noTensorBoard),
            };
            options.Validate();
            Console.WriteLine($"linear probe {variant.ClassName} on {description}");
            string? weights = parse.GetValue(pretrained);
            VitClassifier model;
            if (weights is not null)
                (model, _) = LinearProbe.LoadPretrained(spec, weights, options, options.Seed, Console.WriteLine);
            else
            {
                Console.WriteLine("no --pretrained: probing a randomly initialised encoder");
                model = LinearProbe.CreateModel(spec, options, options.Seed);
            }
            using (model)
            using (var probe = new LinearProbe(model, options))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lr {options.AbsoluteLr:E2} (blr {options.BaseLr:E2} × {options.BatchSize * options.AccumIter} / 256), LARS"));
                var result = probe.Run(train, test, sources.Normalization, console: null);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"final top-1 {result.Final.Top1:F2}% top-5 {result.Final.Top5:F2}% (max {result.Best:F2}%), training {result.TrainSeconds:F0} s; logs in {Path.GetFullPath(options.OutputDir)}"));
            }
            return 0;
        }));
        return command;
    }
}

// `bench`: pre-training and encoding throughput of a model on random images (what sized the quickstart's model).
using System.CommandLine;
using System.Diagnostics;
using MaeDsl.Training;
using MaeDsl.Training.Optimization;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>
/// `bench`: the throughput that sizes the main job. Times pre-training iterations (forward, backward, AdamW
/// step) and unmasked Encode passes on random images of the variant's size, per wall-clock second and per
/// CPU second (the latter is what a busy machine cannot distort much).
/// </summary>
internal static class BenchCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("bench", "Measure pre-training and encoding throughput (images/s) of a model on random images.");
        var common = new CommonOptions(useDefault);
        var batch = new Option<int>("--batch") { Description = "Images per training iteration", DefaultValueFactory = _ => RecipePresets.TinyPretrain.Run.BatchSize };
        var iterations = new Option<int>("--iterations") { Description = "Timed training iterations (after 3 untimed ones)", DefaultValueFactory = _ => 10 };
        common.AddTo(command, common.Dataset, common.DataDir, common.TrainLimit, common.Seed);
        foreach (var o in new Option[] { batch, iterations }) command.Options.Add(o);
        command.SetAction(parse => Run.Guarded(() =>
        {
            int threads = common.ApplyThreads(parse);
            var v = common.ReadModel(parse);
            int b = parse.GetValue(batch), n = parse.GetValue(iterations);
            OptionCheck.Require(b >= 1, "--batch", b, "must be >= 1");
            OptionCheck.Require(n >= 1, "--iterations", n, "must be >= 1");
            using var model = v.Create(0);
            var spec = model.Spec;
            using var optimizer = WeightDecay.CreateOptimizer(model, 1e-4, 0.05);
            using var images = randn(b, spec.Channels, spec.ImageSize, spec.ImageSize);
            var process = Process.GetCurrentProcess();

            (double Wall, double Cpu) Time(int count, Action step)
            {
                process.Refresh();
                var cpu = process.TotalProcessorTime;
                var wall = Stopwatch.StartNew();
                for (int i = 0; i < count; i++) step();
                process.Refresh();
                return (wall.Elapsed.TotalSeconds, (process.TotalProcessorTime - cpu).TotalSeconds);
            }

            void TrainStep()
            {
                using var scope = NewDisposeScope();
                using var output = model.forward(images);
                output.Loss.backward();
                optimizer.step();
                optimizer.zero_grad();
            }
            model.train();
            Time(3, TrainStep);
            var train = Time(n, TrainStep);

            model.eval();
            int encodeBatch = 500;
            using var evalImages = randn(encodeBatch, spec.Channels, spec.ImageSize, spec.ImageSize);
            void EncodeStep() { using var _ = no_grad(); using var scope = NewDisposeScope(); model.Encode(evalImages); }
            EncodeStep();
            var encode = Time(Math.Max(1, n / 2), EncodeStep);
            double encodeImages = encodeBatch * Math.Max(1, n / 2);
            var c = System.Globalization.CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(c, $"{v.ClassName}: {spec.ParameterCount:N0} parameters, {threads} threads"));
            Console.WriteLine(string.Create(c, $"pre-training (batch {b}): {n * b / train.Wall:F0} images/s wall, {n * b / train.Cpu:F0} images per CPU-second"));
            Console.WriteLine(string.Create(c, $"Encode (batch {encodeBatch}): {encodeImages / encode.Wall:F0} images/s wall, {encodeImages / encode.Cpu:F0} images per CPU-second"));
            return 0;
        }));
        return command;
    }
}

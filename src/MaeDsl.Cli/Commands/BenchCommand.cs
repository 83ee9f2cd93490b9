// `bench`: pre-training and encoding throughput of a model (random tensors or real data), against the matmul rate of the
// same precision; the last line is machine-readable (see Reports/Bench.cs, docs/benchmarks.md).
using System.CommandLine;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>
/// `bench --model m --batch N --iterations N --warmup N --threads N --precision fp32|bf16 [--dataset fashion-mnist|root]`:
/// images/s of pre-training iterations and of the unmasked encoder, a matmul of the same precision, the analytic FLOPs per
/// training image and the efficiency. Every option is checked before any work (one <c>error:</c> line).
/// </summary>
internal static class BenchCommand
{
    public static Command Create(bool useDefault = true)
    {
        var command = new Command("bench", "Measure pre-training and unmasked-encode throughput (images/s) of a model, on random images or real data, " +
                                           "against the matmul rate of the same precision. Last line: bench model=… precision=… batch=… threads=… " +
                                           "train_img_per_s=… encode_img_per_s=… gflop_per_img=… gemm_gflops=… efficiency=… auto=…");
        var common = new CommonOptions(useDefault);
        var batch = new Option<int>("--batch") { Description = "Images per training iteration and per encode call",
            DefaultValueFactory = _ => RecipePresets.TinyPretrain.Run.BatchSize };
        var iterations = new Option<int>("--iterations") { Description = "Timed training iterations (and encode calls)", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed iterations before the timed ones", DefaultValueFactory = _ => 3 };
        var precision = PrecisionOption.Create(
            " of the timed model and of the matmul rate (auto: the precision auto chooses; its measurement is always printed)", defaultValue: "fp32");
        var gemmSize = new Option<int>("--gemm-size") { Description = "Side n of the n×n·n×n matmul that gives gemm_gflops", DefaultValueFactory = _ => 4096 };
        // bench's own --dataset: none (one random batch) unless given; the training commands' defaults to fashion-mnist
        var dataset = new Option<string?>("--dataset")
        {
            Description = $"Time the iterations on real data through the pre-training loader: '{DataSources.FashionMnistName}' or an ImageFolder root " +
                $"(default: one random batch)",
        };
        common.AddTo(command, common.Dataset, common.Device);   // it measures this CPU (and its matmul rate)
        foreach (var o in new Option[] { dataset, batch, iterations, warmup, precision, gemmSize }) command.Options.Add(o);
        command.SetAction(parse => OneLineErrors.Guarded(() =>
        {
            var model = common.ReadModel(parse);
            int b = parse.GetValue(batch), n = parse.GetValue(iterations), w = parse.GetValue(warmup), g = parse.GetValue(gemmSize);
            int threads = common.ReadThreads(parse);
            var p = PrecisionOption.Read(parse, precision);
            OptionCheck.Require(b >= 1, "--batch", b, "must be >= 1");
            OptionCheck.Require(n >= 1, "--iterations", n, "must be >= 1");
            OptionCheck.Require(w >= 0, "--warmup", w, "must be >= 0");
            OptionCheck.Require(g >= 1, "--gemm-size", g, "must be >= 1");
            Bench.CheckGemmFits(g);
            int? limit = common.ReadTrainLimit(parse);
            string? data = parse.GetValue(dataset);
            if (data is not null && data != DataSources.FashionMnistName && !Directory.Exists(data))
                throw new DirectoryNotFoundException(
                    $"--dataset '{data}' is neither '{DataSources.FashionMnistName}' nor an existing ImageFolder root (root/class_x/image.jpg)");
            OptionCheck.Require(data is null || limit is null || limit >= b, "--train-limit", limit, $"must be at least --batch {b} (a full batch)");
            common.ApplyThreads(parse);
            var settings = new BenchSettings(model, b, n, w, threads, p,
                data, parse.GetValue(common.DataDir), limit, parse.GetValue(common.Seed), g, PrecisionOption.IsAuto(parse, precision));
            var result = Bench.Run(settings, Console.Out);
            Console.WriteLine(result.MachineLine());
            return 0;
        }));
        return command;
    }
}

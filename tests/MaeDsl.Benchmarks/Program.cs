// The paper's speed claim (Sec. 4.1 / Table 2 "encoder w/ [M]"): because the encoder sees only the
// visible 25% of the patches, a training step is several times cheaper than with mask tokens in the
// encoder. This program measures both on one machine, interleaved, and prints the ratio.
//
//   dotnet run -c Release --project tests/MaeDsl.Benchmarks -- [--batch 8] [--rounds 5] [--threads N]
using System.Diagnostics;
using MaeDsl;
using static TorchSharp.torch;

int batch = Arg("--batch", 8), rounds = Arg("--rounds", 5), threads = Arg("--threads", Environment.ProcessorCount);
set_num_threads(threads);
Console.WriteLine($"MaeDsl benchmark: one training step (forward + backward), batch {batch}, {threads} threads, {rounds} interleaved rounds");
Console.WriteLine($"ViT-S/16-sized encoder (12 × 384), decoder 4 × 256, 224×224 images; {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

using var standard = new MaeBenchStandard(seed: 0);
using var withMaskTokens = new MaeBenchMaskTokensInEncoder(seed: 0);
using var images = randn(batch, 3, 224, 224);

var cases = new (string Name, MaskedAutoencoder Model, double Macs)[]
{
    ("encoder sees 25% (MAE)", standard, MaeBenchStandard.Specification.ForwardMacsPerImage),
    ("encoder w/ [M] (all 196)", withMaskTokens, MaeBenchMaskTokensInEncoder.Specification.ForwardMacsPerImage),
};
foreach (var c in cases) Step(c.Model);                 // warm-up
var seconds = cases.Select(_ => new List<double>()).ToArray();
for (int round = 0; round < rounds; round++)
    for (int i = 0; i < cases.Length; i++)
    {
        var watch = Stopwatch.StartNew();
        Step(cases[i].Model);
        seconds[i].Add(watch.Elapsed.TotalSeconds);
    }

Console.WriteLine();
Console.WriteLine($"{"case",-26} {"median s/step",14} {"images/s",10} {"fwd GMAC/img",13}");
var medians = seconds.Select(Median).ToArray();
for (int i = 0; i < cases.Length; i++)
    Console.WriteLine($"{cases[i].Name,-26} {medians[i],14:F3} {batch / medians[i],10:F1} {cases[i].Macs / 1e9,13:F2}");
Console.WriteLine();
Console.WriteLine($"speed-up of MAE over encoder w/ [M]: {medians[1] / medians[0]:F2}x (measured), {cases[1].Macs / cases[0].Macs:F2}x (forward multiply-accumulates)");

void Step(MaskedAutoencoder model)
{
    using var scope = NewDisposeScope();
    model.train();
    model.zero_grad();
    var output = model.forward(images);
    output.Loss.backward();
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

int Arg(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    if (i < 0) return fallback;
    if (i + 1 >= args.Length || !int.TryParse(args[i + 1], out int value) || value < 1)
        throw new ArgumentException($"{name} takes a positive whole number");
    return value;
}

[Encoder(Depth = 12, Width = 384)]
[Decoder(Depth = 4, Width = 256)]
partial class MaeBenchStandard;

[Encoder(Depth = 12, Width = 384)]
[Decoder(Depth = 4, Width = 256)]
[Masking(MaskTokensInEncoder = true)]
partial class MaeBenchMaskTokensInEncoder;

using System.Text;
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;
using MaeDsl.IO;
using static TorchSharp.torch;
using static MaeDsl.Benchmarks.Harness;

namespace MaeDsl.Benchmarks;

/// <summary>
/// `checkpoint [--model vit-b16] [--rounds 3] [--folder DIR]`: what the checksums cost. A registered model (default MAE ViT-B/16,
/// 111.9M parameters) with its AdamW moments is saved and loaded, interleaved, two ways: as CheckpointStore does (format 2:
/// XXH3-64 digests of both sections and of every tensor, checked on load), and by the same steps without any digest (format 1's
/// code: the same atomic write, fsync and rename, model and optimizer state, end marker; its load reads them and checks the
/// weights are finite). Also the model-only load (evaluate, embed) both ways. The files go to --folder (default: the temp folder).
/// </summary>
static class CheckpointBench
{
    public static int Run(Options options)
    {
        string key = options.String("--model") ?? "vit-b16";
        int rounds = options.Int("--rounds", 3);
        string folder = Directory.CreateTempSubdirectory("maedsl-checkpoint-bench-").FullName;
        if (options.String("--folder") is { } given) folder = Directory.CreateDirectory(given).FullName;
        var info = MaeModels.Find(key);
        using var model = info.Create(0, null);
        var optimizer = optim.AdamW(model.parameters());
        using (var sum = model.parameters().Select(p => p.sum()).Aggregate((a, b) => a + b) * 0)   // one step: the moments exist
            sum.backward();
        optimizer.step();
        long parameters = model.parameters().Sum(p => p.numel());
        Console.WriteLine($"checkpoint save/load of {key} ({parameters / 1e6:F1}M parameters, AdamW moments), {rounds} interleaved rounds, " +
                          $"{get_num_threads()} torch threads; files in {folder}; {Machine()}");
        var store = new CheckpointStore(Path.Combine(folder, "with"), 1);
        string plain = Path.Combine(folder, "without", "checkpoint-last.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(plain)!);
        var checkpointInfo = new CheckpointInfo(model.GetName(), 0, 1, 1, new JsonObject(), random.get_rng_state().bytes.ToArray());
        try
        {
            var save = Interleaved(rounds,
                () => store.Save(model, optimizer, checkpointInfo, keep: false),
                () => AtomicFile.Write(plain, stream => WritePlain(stream, model, optimizer)));
            using var target = info.Create(1, null);
            var targetOptimizer = optim.AdamW(target.parameters());
            var load = Interleaved(rounds,
                () => CheckpointStore.Load(store.LastPath, target, targetOptimizer),
                () => ReadPlain(plain, target, targetOptimizer, modelOnly: false),
                () => CheckpointStore.LoadModel(store.LastPath, target),
                () => ReadPlain(plain, target, targetOptimizer, modelOnly: true));
            long bytes = new FileInfo(store.LastPath).Length, plainBytes = new FileInfo(plain).Length;
            Console.WriteLine($"file: {bytes / 1048576.0:F1} MiB with checksums, {plainBytes / 1048576.0:F1} MiB without (footer {bytes - plainBytes} bytes)");
            void Line(string what, List<double> with, List<double> without) =>
                Console.WriteLine($"{what,-16} with checksums {F(Median(with))} s, without {F(Median(without))} s: ratio {F(Median(with) / Median(without))}");
            Line("save", save[0], save[1]);
            Line("load (resume)", load[0], load[1]);
            Line("load model-only", load[2], load[3]);
            Console.WriteLine($"checkpoint_ratio save={F(Median(save[0]) / Median(save[1]))} load={F(Median(load[0]) / Median(load[1]))} " +
                              $"load_model={F(Median(load[2]) / Median(load[3]))}");
            return 0;
        }
        finally { if (options.String("--folder") is null) Directory.Delete(folder, recursive: true); }
    }

    // Format 1's writer: the same header, states and end marker, no digest.
    static void WritePlain(Stream stream, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Encoding.ASCII.GetBytes("MAEDSLCK"));
        writer.Write(1);
        writer.Write("{}");
        model.save(writer);
        optimizer.save_state_dict(writer);
        writer.Write("END.MAEDSLCK");
        writer.Flush();
    }

    // Format 1's reader: the states, the end marker (full load only) and the finite check of the weights.
    static void ReadPlain(string path, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, bool modelOnly)
    {
        using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        reader.ReadBytes(8);
        reader.ReadInt32();
        reader.ReadString();
        model.load(reader, strict: true);
        StateDicts.RequireFinite(model, path);
        if (modelOnly) return;
        optimizer.load_state_dict(reader);
        if (reader.ReadString() != "END.MAEDSLCK") throw new InvalidDataException(path);
    }
}

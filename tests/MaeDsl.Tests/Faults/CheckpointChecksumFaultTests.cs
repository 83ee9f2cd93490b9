// Damaged checkpoints (issue 19, class 4): every .ckpt and .safetensors carries checksums, and every load checks them,
// naming the file and the damaged tensor: random bytes in the weights, one weight set to 1e30 (finite, so only the checksum
// sees it), random bytes in the optimizer state, a file cut in half. Files written before checksums still load, with a note.
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;

namespace MaeDsl.Tests.Faults;

[Collection(CheckpointNoticeCollection.Name)]
public class CheckpointChecksumFaultTests
{
    static CheckpointInfo Info(int epoch) => new("Linear", epoch, epoch + 1, epoch + 1, new JsonObject(), torch.random.get_rng_state().bytes.ToArray());

    /// <summary>A trained-looking checkpoint of a Linear(64, 64) with AdamW moments; returns the store and the module.</summary>
    static (CheckpointStore Store, torch.nn.Module<torch.Tensor, torch.Tensor> Module) Saved(FaultDir dir, int epochs = 1)
    {
        var module = torch.nn.Linear(64, 64);
        var optimizer = torch.optim.AdamW(module.parameters());
        for (int i = 0; i < 2; i++)
        {
            optimizer.zero_grad();
            using var loss = module.forward(torch.randn(8, 64)).square().mean();
            loss.backward();
            optimizer.step();
        }
        var store = new CheckpointStore(dir["checkpoints"], 1);
        for (int e = 0; e < epochs; e++) store.Save(module, optimizer, Info(e), keep: true);
        return (store, module);
    }

    // The offset of the module's weight bytes in the file (they are written as they are in memory).
    static int WeightOffset(byte[] file, torch.nn.Module<torch.Tensor, torch.Tensor> module)
    {
        var weight = module.state_dict()["weight"].bytes.ToArray();
        int at = file.AsSpan().IndexOf(weight);
        Assert.True(at > 0, "the weight bytes are not in the file");
        return at;
    }

    static void Damage(string path, int offset, byte[] bytes)
    {
        using var f = File.OpenWrite(path);
        f.Position = offset;
        f.Write(bytes);
    }

    static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public void SixteenRandomBytesInTheWeightsAreRefusedNamingTheTensor()
    {
        using var dir = new FaultDir();
        var (store, module) = Saved(dir);
        var path = store.LastPath;
        int at = WeightOffset(File.ReadAllBytes(path), module);
        Damage(path, at + 1000, RandomBytes(16, 1));
        using var fresh = torch.nn.Linear(64, 64);
        var optimizer = torch.optim.AdamW(fresh.parameters());
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.Load(path, fresh, optimizer), path, "damaged", "tensor 'weight'", "checksum");
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.LoadModel(path, fresh), path, "damaged", "tensor 'weight'", "checksum");
        Assert.False(CheckpointStore.Verifies(path, out var problem));
        Assert.Contains("model state", problem);
    }

    [Fact]
    public void OneWeightSetTo1e30IsRefusedByTheChecksum()
    {
        using var dir = new FaultDir();
        var (store, module) = Saved(dir);
        var path = store.LastPath;
        int at = WeightOffset(File.ReadAllBytes(path), module);
        Damage(path, at + 4 * 123, BitConverter.GetBytes(1e30f));   // finite: the NaN/Inf check alone lets it through
        using var fresh = torch.nn.Linear(64, 64);
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.LoadModel(path, fresh), path, "tensor 'weight'", "does not match the checksum");
    }

    [Fact]
    public void OneKibOfRandomBytesInTheOptimizerStateIsRefusedOnResume()
    {
        using var dir = new FaultDir();
        var (store, _) = Saved(dir);
        var path = store.LastPath;
        var (modelEnd, optimizerEnd) = CheckpointStore.Sections(path)!.Value;
        Assert.True(optimizerEnd - modelEnd > 4096, $"optimizer section of {optimizerEnd - modelEnd} bytes");
        Damage(path, (int)(modelEnd + (optimizerEnd - modelEnd) / 2 - 512), RandomBytes(1024, 2));
        using var fresh = torch.nn.Linear(64, 64);
        var optimizer = torch.optim.AdamW(fresh.parameters());
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.Load(path, fresh, optimizer), path, "damaged", "optimizer state", "checksum");
        Assert.False(CheckpointStore.Verifies(path, out _));
    }

    [Fact]
    public void HalfAFileIsRefusedByModelOnlyLoadsAndByTheHeaderRead()
    {
        using var dir = new FaultDir();
        var (store, _) = Saved(dir);
        var path = store.LastPath;
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        using var fresh = torch.nn.Linear(64, 64);
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.LoadModel(path, fresh), path, "truncated");
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.ReadInfo(path), path, "truncated");
        // the model section alone (the optimizer cut off): the model-only load must not take it either
        var (modelEnd, _) = CheckpointStore.Sections(store.PeriodicPath(0))!.Value;
        File.WriteAllBytes(path, bytes[..(int)(modelEnd + 10)]);
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.LoadModel(path, fresh), path, "truncated");
    }

    [Fact]
    public void AWholeCheckpointLoadsAndRoundTripsTheWeights()
    {
        using var dir = new FaultDir();
        var (store, module) = Saved(dir);
        using var fresh = torch.nn.Linear(64, 64);
        var optimizer = torch.optim.AdamW(fresh.parameters());
        Assert.Equal(0, CheckpointStore.Load(store.LastPath, fresh, optimizer).Epoch);
        Assert.True(fresh.weight!.allclose(((torch.nn.Module)module).state_dict()["weight"], 0, 0));
        Assert.True(CheckpointStore.Verifies(store.LastPath, out _));
    }

    [Fact]
    public void ANaNStopNamesTheNewestCheckpointThatVerifies()
    {
        using var dir = new FaultDir();
        var (store, module) = Saved(dir, epochs: 2);   // checkpoint-0000, checkpoint-0001, checkpoint-last (= epoch 1)
        Assert.Equal(store.LastPath, CheckpointStore.NewestVerified(store.LastPath));
        int at = WeightOffset(File.ReadAllBytes(store.LastPath), module);
        Damage(store.LastPath, at + 64, RandomBytes(16, 3));
        Damage(store.PeriodicPath(1), at + 64, RandomBytes(16, 4));
        Assert.Equal(store.PeriodicPath(0), CheckpointStore.NewestVerified(store.LastPath));
        var stop = new MaeDsl.Training.Loop.NonFiniteLossException(double.NaN, 1, 9, 1e-3, store.LastPath);   // as the loop makes it
        Assert.Equal(store.PeriodicPath(0), stop.LastGoodCheckpoint);
        Assert.Contains($"--resume {store.PeriodicPath(0)}", stop.Message);
        Assert.DoesNotContain(store.LastPath, stop.Message);
        Damage(store.PeriodicPath(0), at + 64, RandomBytes(16, 5));
        Assert.Null(CheckpointStore.NewestVerified(store.LastPath));
        Assert.Contains("No checkpoint that verifies", new MaeDsl.Training.Loop.NonFiniteLossException(double.NaN, 1, 9, 1e-3, store.LastPath).Message);
    }

    [Fact]
    public void ALegacyCheckpointLoadsWithOneNoteThatItCarriesNoChecksum()
    {
        string legacy = Path.Combine(AppContext.BaseDirectory, "Fixtures", "legacy", "pretrain-epoch0.ckpt");
        using var dir = new FaultDir();
        string copy = dir["legacy.ckpt"];   // a path of its own: the note is given once per file and process
        File.Copy(legacy, copy);
        var notes = new List<string>();
        var before = CheckpointStore.Notice;
        CheckpointStore.Notice = notes.Add;
        try
        {
            var info = CheckpointStore.ReadInfo(copy);
            CheckpointStore.ReadInfo(copy);
            Assert.Equal(0, info.Epoch);
            Assert.True(CheckpointStore.Verifies(copy, out _));
        }
        finally { CheckpointStore.Notice = before; }
        var note = Assert.Single(notes);
        FaultAssert.OneLine(note, copy, "carries no checksum", "unverified");
    }

    [Fact]
    public void DamagedSafetensorsWeightsAreRefusedNamingTheTensor()
    {
        using var dir = new FaultDir();
        using var module = torch.nn.Linear(64, 64);
        string path = dir["w.safetensors"];
        CheckpointStore.ExportWeights(module, path, new JsonObject { ["model"] = "Linear" });
        var bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf(module.weight!.bytes.ToArray());
        Damage(path, at + 4 * 7, BitConverter.GetBytes(1e30f));
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(path), path, "tensor 'weight'", "checksum");
        using var fresh = torch.nn.Linear(64, 64);
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.Load(fresh, path), path, "tensor 'weight'", "checksum");
    }

    [Fact]
    public void OurSafetensorsWithoutChecksumsLoadWithANote()
    {
        using var dir = new FaultDir();
        using var module = torch.nn.Linear(4, 4);
        string path = dir["old.safetensors"];
        CheckpointStore.ExportWeights(module, path, new JsonObject { ["model"] = "Linear" });
        // rewrite it as a build before checksums did: the same tensors, the config metadata only
        var (tensors, metadata) = StateDicts.ReadSafetensors(path);
        Assert.True(metadata.ContainsKey("maedsl_checksums"));
        File.WriteAllBytes(path, WithoutChecksums(File.ReadAllBytes(path)));
        var notes = new List<string>();
        var before = CheckpointStore.Notice;
        CheckpointStore.Notice = notes.Add;
        try { Assert.Equal(2, StateDicts.ReadSafetensors(path).Tensors.Count); }
        finally { CheckpointStore.Notice = before; }
        FaultAssert.OneLine(Assert.Single(notes), path, "carries no checksum");
        foreach (var t in tensors.Values) t.Dispose();
    }

    // The same file with the checksum entry of its metadata blanked out to another key (the header keeps its length).
    static byte[] WithoutChecksums(byte[] file)
    {
        var key = System.Text.Encoding.ASCII.GetBytes("\"maedsl_checksums\"");
        int at = file.AsSpan().IndexOf(key);
        Assert.True(at > 0);
        System.Text.Encoding.ASCII.GetBytes("\"old_checksumsxxx\"").CopyTo(file, at);
        return file;
    }
}

/// <summary>Tests that replace <see cref="CheckpointStore.Notice"/> run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class CheckpointNoticeCollection
{
    public const string Name = "CheckpointStore.Notice";
}

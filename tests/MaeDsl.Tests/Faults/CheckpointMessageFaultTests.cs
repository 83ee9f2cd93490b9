// Messages about weights that point the right way (issue 19, class 9; issue 18 §5): a mismatch counts and groups its keys
// with the mis-shaped ones first, a pos_embed that cannot fit names its file, and a valid .pth holding a view loads.
using MaeDsl.Checkpoints;
using static MaeDsl.Tests.ReferenceData;

namespace MaeDsl.Tests.Faults;

public class CheckpointMessageFaultTests
{
    [Fact]
    public void A_mismatch_counts_and_groups_its_keys_with_the_mis_shaped_key_first()
    {
        var weights = TinyModelWeights();
        foreach (var key in weights.Keys.Where(k => k.StartsWith("blocks.", StringComparison.Ordinal) || k.StartsWith("decoder_blocks.", StringComparison.Ordinal)).ToList())
            weights.Remove(key);
        weights["norm.weight"] = zeros(65);
        weights["extra.weight"] = zeros(3);
        using var model = new SpecMae(TinySpec);
        int missing = model.state_dict().Keys.Count(k => !weights.ContainsKey(k));
        Assert.True(missing > 20, $"{missing} missing keys");
        var e = Assert.Throws<StateDictMismatchException>(() => StateDicts.Load(model, weights, strict: true, "wrong.safetensors"));
        FaultAssert.OneLine(e.Message, "wrong.safetensors", "1 mis-shaped key: norm.weight (file [65], model [64])", $"{missing} missing keys: blocks.* ",
            "decoder_blocks.* ", "(first: blocks.0.", "1 unexpected key: extra.weight");
        Assert.True(e.Message.IndexOf("mis-shaped", StringComparison.Ordinal) < e.Message.IndexOf("missing", StringComparison.Ordinal), e.Message);
        Assert.True(e.Message.Length < 400, $"{e.Message.Length} characters: {e.Message}");
    }

    [Fact]
    public void Many_mis_shaped_keys_are_counted_and_grouped_by_prefix_with_the_first_few()
    {
        // weights of a wider model: every block's tensors have another shape (issue 18 §5: not one line of 85 keys)
        var weights = TinyModelWeights();
        var blocks = weights.Keys.Where(k => k.StartsWith("blocks.", StringComparison.Ordinal) || k.StartsWith("decoder_blocks.", StringComparison.Ordinal)).ToList();
        foreach (var key in blocks)
            weights[key] = zeros([weights[key].shape[0] + 1, .. weights[key].shape.Skip(1)]);
        int encoder = blocks.Count(k => k.StartsWith("blocks.", StringComparison.Ordinal)), decoder = blocks.Count - encoder;
        Assert.True(encoder > 3 && decoder > 3, $"{encoder} encoder and {decoder} decoder block keys");
        using var model = new SpecMae(TinySpec);
        var e = Assert.Throws<StateDictMismatchException>(() => StateDicts.Load(model, weights, strict: true, "wide.safetensors"));
        FaultAssert.OneLine(e.Message, "wide.safetensors", $"{blocks.Count} mis-shaped keys: blocks.* {encoder}, decoder_blocks.* {decoder} (first: blocks.0.");
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(e.Message, @"\(file \[").Count);   // the first few, not all of them
        Assert.DoesNotContain("missing", e.Message);
        Assert.True(e.Message.Length < 400, $"{e.Message.Length} characters: {e.Message}");
    }

    [Fact]
    public void A_pos_embed_that_cannot_be_interpolated_names_the_file()
    {
        using var dir = new FaultDir();
        string path = dir["wrong-shapes.pth"];
        using (var pos = zeros(1, 8, TinySpec.EncoderWidth))   // 7 patch entries: no square grid
            StateDicts.WritePth(path, [new KeyValuePair<string, Tensor>("pos_embed", pos)]);
        using var classifier = new VitClassifier(TinySpec, 10);
        var e = FaultAssert.Refuses<StateDictMismatchException>(() => PretrainedEncoder.Load(classifier, path, ["head.weight", "head.bias"], null),
            path, "pos_embed [1, 8, ", "square grid");
        Assert.DoesNotContain("(Parameter", e.Message);
    }

    [Fact]
    public void A_valid_pth_holding_a_transposed_view_loads_as_torch_load_reads_it()
    {
        using var dir = new FaultDir();
        string path = dir["view.pth"];
        using var original = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        StateDicts.WritePth(path, [new KeyValuePair<string, Tensor>("weight", original)]);
        // torch.save of w.t(): the same storage, shape (4, 3) and stride (1, 4); patched into the pickle: K=BININT1, 0x86=TUPLE2
        PatchPickle(path, [(byte)'K', 3, (byte)'K', 4, 0x86], [(byte)'K', 4, (byte)'K', 3, 0x86]);
        PatchPickle(path, [(byte)'K', 4, (byte)'K', 1, 0x86], [(byte)'K', 1, (byte)'K', 4, 0x86]);
        var read = StateDicts.ReadPth(path).Model["weight"];
        Assert.Equal([4L, 3L], read.shape);
        Assert.True(read.equal(original.t()).all().item<bool>(), read.ToString(TorchSharp.TensorStringStyle.Julia));
    }

    static void PatchPickle(string path, byte[] from, byte[] to)
    {
        using var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Update);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith("data.pkl"));
        byte[] pickle;
        using (var s = entry.Open()) { var ms = new MemoryStream(); s.CopyTo(ms); pickle = ms.ToArray(); }
        int at = pickle.AsSpan().IndexOf(from);
        Assert.True(at >= 0 && pickle.AsSpan(at + 1).IndexOf(from) < 0, "the pattern to patch is not there exactly once");
        to.CopyTo(pickle, at);
        string name = entry.FullName;
        entry.Delete();
        using var w = zip.CreateEntry(name, System.IO.Compression.CompressionLevel.NoCompression).Open();
        w.Write(pickle);
    }
}

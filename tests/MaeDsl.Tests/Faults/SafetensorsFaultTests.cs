// The safetensors reader must not trust the header: offsets, dtypes, shapes and JSON are validated before any allocation.
using System.Text;
using MaeDsl.Checkpoints;

namespace MaeDsl.Tests.Faults;

public class SafetensorsFaultTests
{
    /// <summary>Writes a safetensors file by hand: 8-byte header length, the header JSON (padded), the data.</summary>
    static string Raw(FaultDir dir, string header, byte[] data, string name = "w.safetensors")
    {
        var json = Encoding.UTF8.GetBytes(header);
        string path = dir[name];
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)json.Length));
        f.Write(json);
        f.Write(data);
        return path;
    }

    static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{shape}],\"data_offsets\":[{begin},{end}]}}";

    const string Key = "weight";

    [Fact]
    public void NegativeOffsetsReadingTheHeaderAreRefused()
    {
        using var dir = new FaultDir();
        // [-256, 0]: the weights would be read from the header's own bytes
        string path = Raw(dir, "{" + Entry(Key, "F32", "64", -256, 0) + "}", new byte[256]);
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(path), path, $"'{Key}'", "[-256, 0]", "expected 0 ≤ begin");
    }

    [Fact]
    public void OverlappingOffsetsAreRefused()
    {
        using var dir = new FaultDir();
        string path = Raw(dir, "{" + Entry("a", "F32", "4", 0, 16) + "," + Entry("b", "F32", "4", 8, 24) + "}", new byte[24]);
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(path), path, "'b'", "overlaps");
    }

    [Fact]
    public void GapOrTrailingBytesInDataSectionAreRefused()
    {
        using var dir = new FaultDir();
        string gap = Raw(dir, "{" + Entry("a", "F32", "2", 0, 8) + "," + Entry("b", "F32", "2", 16, 24) + "}", new byte[24], "gap.safetensors");
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(gap), gap, "'b'", "gap");
        string padded = Raw(dir, "{" + Entry("a", "F32", "2", 0, 8) + "}", new byte[12], "padded.safetensors");
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(padded), padded, "cover it exactly");
    }

    [Fact]
    public void OffsetsPastTheEndOfTheFileAreRefused()
    {
        using var dir = new FaultDir();
        string path = Raw(dir, "{" + Entry(Key, "F32", "4", 0, 16) + "}", new byte[8]);   // the file was cut
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(path), path, $"'{Key}'", "data section");
    }

    [Fact]
    public void ByteLengthNotMatchingShapeAndDtypeIsRefused()
    {
        using var dir = new FaultDir();
        string path = Raw(dir, "{" + Entry(Key, "F64", "4", 0, 16) + "}", new byte[16]);   // F64 × 4 needs 32 bytes
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(path), path, $"'{Key}'", "needs 32 bytes", "hold 16");
    }

    [Theory]
    [InlineData("1099511627776,1099511627776,1099511627776", "overflows")]   // product beyond long: refused before any allocation
    [InlineData("1048576,1048576", "needs 4398046511104 bytes")]             // 4 TB claimed for 16 bytes: no allocation
    [InlineData("-4", "non-negative")]
    public void ShapeIsCheckedBeforeAnyAllocation(string shape, string expected)
    {
        using var dir = new FaultDir();
        string path = Raw(dir, "{" + Entry(Key, "F32", shape, 0, 16) + "}", new byte[16]);
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(path), path, $"'{Key}'", expected);
    }

    [Theory]
    [InlineData("{\"weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_off", "not well-formed JSON")]    // cut off
    [InlineData("[1,2,3]", "expected an object")]
    [InlineData("{\"weight\":{\"dtype\":\"F32\",\"shape\":[4]}}", "data_offsets")]
    [InlineData("{\"weight\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}", "'Q4'")]
    [InlineData("{\"weight\":{\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]}}", "64-bit integers")]
    [InlineData("{\"weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16,32]}}", "expected 2")]
    [InlineData("{\"weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"weight\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", "twice")]
    public void MalformedHeaderIsOneLineNotARawException(string header, string expected)
    {
        using var dir = new FaultDir();
        string path = Raw(dir, header, new byte[16]);
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(path), path, expected);
    }

    [Fact]
    public void HeaderLengthBeyondTheFileIsRefused()
    {
        using var dir = new FaultDir();
        string path = dir["cut.safetensors"];
        File.WriteAllBytes(path, BitConverter.GetBytes(1000UL).Concat("{}"u8.ToArray()).ToArray());
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(path), path, "header length 1000");
        string tiny = dir["tiny.safetensors"];
        File.WriteAllBytes(tiny, [1, 2, 3]);
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadSafetensors(tiny), tiny, "3 bytes");
    }

    static string LinearFile(FaultDir dir, string weightDtype, byte[] weight, float bias = 0.5f)
    {
        var data = weight.Concat(Floats(bias, bias)).ToArray();
        return Raw(dir, "{" + Entry("weight", weightDtype, "2,2", 0, 16) + "," + Entry("bias", "F32", "2", 16, 24) + "}", data);
    }

    [Fact]
    public void LyingDtypeIsRefusedOnLoadNotConverted()
    {
        using var dir = new FaultDir();
        using var module = torch.nn.Linear(2, 2);
        var before = module.weight!.data<float>().ToArray();
        // F32 bytes relabelled I32: the same byte length, so the file itself is consistent
        string path = LinearFile(dir, "I32", Floats(1, 2, 3, 4));
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.Load(module, path), path, "weight", "Int32", "Float32");
        Assert.Equal(before, module.weight!.data<float>().ToArray());   // nothing was copied
    }

    [Fact]
    public void NonFiniteWeightsAreRefusedByKey()
    {
        using var dir = new FaultDir();
        using var module = torch.nn.Linear(2, 2);
        var before = module.weight!.data<float>().ToArray();
        string path = LinearFile(dir, "F32", Floats(1, float.NaN, float.PositiveInfinity, 4));
        var e = FaultAssert.Refuses<InvalidDataException>(() => StateDicts.Load(module, path), path, "NaN or Inf", "weight (2 of 4 values)");
        Assert.DoesNotContain("bias", e.Message);
        Assert.DoesNotContain("lr", e.Message);
        Assert.Equal(before, module.weight!.data<float>().ToArray());
        // a valid file loads
        string good = LinearFile(dir, "F32", Floats(1, 2, 3, 4));
        StateDicts.Load(module, good);
        Assert.Equal([1f, 2, 3, 4], module.weight!.data<float>().ToArray());
    }

    [Fact]
    public void NonFiniteWeightsInCheckpointAreRefusedByKey()
    {
        using var dir = new FaultDir();
        using var module = torch.nn.Linear(2, 2);
        using (torch.no_grad()) module.bias!.fill_(float.NaN);
        var optimizer = torch.optim.AdamW(module.parameters());
        var store = new CheckpointStore(dir["checkpoints"], 1);
        var info = new CheckpointInfo("Linear", 0, 1, 1, new System.Text.Json.Nodes.JsonObject(), torch.random.get_rng_state().bytes.ToArray());
        string path = store.Save(module, optimizer, info, keep: false);
        using var fresh = torch.nn.Linear(2, 2);
        FaultAssert.Refuses<InvalidDataException>(() => CheckpointStore.LoadModel(path, fresh), path, "bias (2 of 2 values)");
    }

    [Fact]
    public void ValidFileStillRoundTrips()
    {
        using var dir = new FaultDir();
        using var module = torch.nn.Linear(3, 2);
        string path = dir["ok.safetensors"];
        StateDicts.Save(module, path, new Dictionary<string, string> { ["k"] = "v" });
        var (tensors, metadata) = StateDicts.ReadSafetensors(path);
        Assert.Equal("v", metadata["k"]);
        Assert.Equal([2L, 3], tensors["weight"].shape);
        foreach (var t in tensors.Values) t.Dispose();
    }
}

public class PthFaultTests
{
    // A valid .pth of one tensor of 12345 floats, then its pickle patched: what the file claims, not what it holds.
    static string PthWithPatchedPickle(FaultDir dir, Func<byte[], byte[]> patch)
    {
        string path = dir["w.pth"];
        using (var t = torch.zeros(12345))
            StateDicts.WritePth(path, [new KeyValuePair<string, Tensor>("weight", t)]);
        using var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Update);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith("data.pkl"));
        byte[] pickle;
        using (var s = entry.Open()) { var ms = new MemoryStream(); s.CopyTo(ms); pickle = ms.ToArray(); }
        string name = entry.FullName;
        entry.Delete();
        using (var s = zip.CreateEntry(name, System.IO.Compression.CompressionLevel.NoCompression).Open()) s.Write(patch(pickle));
        return path;
    }

    static byte[] Replace(byte[] data, byte[] from, byte[] to)
    {
        var result = new List<byte>();
        int count = 0;
        for (int i = 0; i < data.Length;)
        {
            if (i + from.Length <= data.Length && data.AsSpan(i, from.Length).SequenceEqual(from)) { result.AddRange(to); i += from.Length; count++; }
            else result.Add(data[i++]);
        }
        Assert.True(count > 0, "the pattern to patch was not found");
        return result.ToArray();
    }

    [Fact]
    public void PthTensorLargerThanItsStorageIsRefusedBeforeAllocation()
    {
        using var dir = new FaultDir();
        // shape [12345] (BININT2 0x3039) becomes [2^31 - 1] (BININT): 8.6 GB claimed by a 49 KB storage
        string path = PthWithPatchedPickle(dir, p => Replace(p, [(byte)'M', 0x39, 0x30], [(byte)'J', 0xFF, 0xFF, 0xFF, 0x7F]));
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadPth(path), path, "'weight'", "needs 8589934588 bytes of storage");
    }

    [Fact]
    public void PthWithNegativeShapeIsRefused()
    {
        using var dir = new FaultDir();
        string path = PthWithPatchedPickle(dir, p => Replace(p, [(byte)'M', 0x39, 0x30], [(byte)'J', 0xFF, 0xFF, 0xFF, 0xFF]));
        FaultAssert.Refuses<InvalidDataException>(() => StateDicts.ReadPth(path), path, "'weight'", "non-negative");
    }

    [Fact]
    public void ValidPthStillReads()
    {
        using var dir = new FaultDir();
        string path = PthWithPatchedPickle(dir, p => p);
        var checkpoint = StateDicts.ReadPth(path);
        Assert.Equal([12345L], checkpoint.Model["weight"].shape);
    }
}

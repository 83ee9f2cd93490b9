// --precision auto's decision with injected measurements (no dependence on this CPU): the margin and tie rule, the printed
// line, config.json's record, the cache (hit, miss, invalidation by libtorch and threads, a corrupt file, racing writers,
// where it lives) and the calibration's own contract (positive times, torch's generator untouched).
using System.Text.Json.Nodes;
using TorchSharp;

namespace MaeDsl.Tests.Model;

public class AutoPrecisionTests : IDisposable
{
    readonly string folder = Path.Combine(Path.GetTempPath(), $"maedsl-autoprecision-{Guid.NewGuid():N}");
    string CachePath => Path.Combine(folder, "maedsl", "precision.json");
    static readonly PrecisionKey Key = new("Intel(R) Xeon(R) Platinum 8488C", "2.10.0.0", 2, "pretrain 224x224x3 patch 16 …, batch 2");

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A measure function that returns <paramref name="m"/> and counts its calls.</summary>
    static Func<PrecisionMeasurement> Inject(PrecisionMeasurement m, Action counted) => () => { counted(); return m; };

    [Theory]
    [InlineData(0.51, Precision.Fp32)]    // the Intel Xeon without AMX: bf16 matmuls at half the fp32 rate
    [InlineData(0.69, Precision.Fp32)]
    [InlineData(1.0, Precision.Fp32)]     // a tie is fp32: precision is a numeric choice
    [InlineData(1.19, Precision.Fp32)]    // faster, but within the margin
    [InlineData(1.2, Precision.Bf16)]     // the margin itself
    [InlineData(1.93, Precision.Bf16)]    // AMD Zen 5
    [InlineData(double.NaN, Precision.Fp32)]
    public void Bf16_only_when_it_measured_at_least_the_margin_faster(double speedup, Precision expected)
    {
        Assert.Equal(1.2, AutoPrecision.Margin);
        Assert.Equal(expected, AutoPrecision.Choose(speedup));
        var decision = AutoPrecision.Decide(Key, () => new PrecisionMeasurement(speedup, 1.0), cache: null);
        Assert.Equal(expected, decision.Precision);
    }

    [Fact]
    public void The_recipe_line_names_the_choice_and_the_measured_ratio()
    {
        var slower = new AutoPrecisionDecision(Precision.Fp32, PrecisionSource.Measured, new PrecisionMeasurement(0.069, 0.1), Key);
        Assert.Equal("fp32 (auto: bf16 measured 0.69× here)", slower.ToString());
        var faster = new AutoPrecisionDecision(Precision.Bf16, PrecisionSource.Cached, new PrecisionMeasurement(0.2, 0.1), Key);
        Assert.Equal("bf16 (auto: bf16 measured 2.00× here, cached)", faster.ToString());
        Assert.Equal("fp32 (auto: the resumed run's)", new AutoPrecisionDecision(Precision.Fp32, PrecisionSource.Resumed).ToString());
    }

    [Fact]
    public void Config_json_records_what_ran_and_why()
    {
        var json = new AutoPrecisionDecision(Precision.Fp32, PrecisionSource.Measured, new PrecisionMeasurement(0.069, 0.1), Key).ToJson();
        Assert.Equal("auto", json["requested"]!.GetValue<string>());
        Assert.Equal("fp32", json["ran"]!.GetValue<string>());
        Assert.Equal("measured", json["source"]!.GetValue<string>());
        Assert.Equal(0.69, json["bf16_speedup"]!.GetValue<double>(), 1e-9);
        Assert.Equal(1.2, json["bf16_needed"]!.GetValue<double>());
        Assert.Equal(Key.ToString(), json["measured_on"]!.GetValue<string>());
        var resumed = new AutoPrecisionDecision(Precision.Bf16, PrecisionSource.Resumed).ToJson();
        Assert.Equal("resumed", resumed["source"]!.GetValue<string>());
        Assert.Null(resumed["bf16_speedup"]);
    }

    [Fact]
    public void A_miss_measures_and_stores_a_hit_does_not_measure()
    {
        var cache = new PrecisionCache(CachePath);
        int calls = 0;
        var first = AutoPrecision.Decide(Key, Inject(new(0.069, 0.1), () => calls++), cache);
        Assert.Equal((1, PrecisionSource.Measured, Precision.Fp32), (calls, first.Source, first.Precision));
        Assert.True(File.Exists(CachePath));

        var second = AutoPrecision.Decide(Key, Inject(new(1, 0.1), () => calls++), new PrecisionCache(CachePath));   // another process
        Assert.Equal((1, PrecisionSource.Cached, Precision.Fp32), (calls, second.Source, second.Precision));
        Assert.Equal(0.69, second.Measurement!.Bf16Speedup, 1e-9);
        Assert.Equal("fp32 (auto: bf16 measured 0.69× here, cached)", second.ToString());
    }

    [Fact]
    public void Another_libtorch_thread_count_cpu_or_shape_measures_again()
    {
        var cache = new PrecisionCache(CachePath);
        int calls = 0;
        AutoPrecision.Decide(Key, Inject(new(0.069, 0.1), () => calls++), cache);
        var others = new[] { Key with { Libtorch = "2.11.0.0" }, Key with { Threads = 4 }, Key with { Cpu = "AMD EPYC" }, Key with { Shape = "encode …" } };
        foreach (var other in others)
        {
            var decision = AutoPrecision.Decide(other, Inject(new(0.3, 0.1), () => calls++), cache);
            Assert.Equal((PrecisionSource.Measured, Precision.Bf16), (decision.Source, decision.Precision));
        }
        Assert.Equal(5, calls);
        Assert.Equal(0.69, cache.Lookup(Key)!.Bf16Speedup, 1e-9);   // the first entry is still there
        Assert.Equal(3.0, cache.Lookup(Key with { Threads = 4 })!.Bf16Speedup, 1e-9);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{ not json")]
    [InlineData("[1, 2]")]
    [InlineData("{\"version\": 99, \"entries\": {}}")]
    [InlineData("{\"version\": \"one\"}")]
    [InlineData("{\"version\": 1, \"entries\": []}")]
    [InlineData("{\"version\": 1, \"entries\": {\"KEY\": {\"fp32_step_seconds\": \"fast\", \"bf16_step_seconds\": 1}}}")]
    [InlineData("{\"version\": 1, \"entries\": {\"KEY\": {\"fp32_step_seconds\": 0, \"bf16_step_seconds\": 1}}}")]
    [InlineData("{\"version\": 1, \"entries\": {\"KEY\": 7}}")]
    public void A_corrupt_cache_file_is_a_miss_that_measures_again_and_is_replaced(string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CachePath)!);
        File.WriteAllText(CachePath, content.Replace("KEY", Key.ToString()));
        var cache = new PrecisionCache(CachePath);
        int calls = 0;
        var decision = AutoPrecision.Decide(Key, Inject(new(0.2, 0.1), () => calls++), cache);
        Assert.Equal((1, PrecisionSource.Measured, Precision.Bf16), (calls, decision.Source, decision.Precision));
        Assert.Equal(2.0, new PrecisionCache(CachePath).Lookup(Key)!.Bf16Speedup, 1e-9);   // rewritten whole
        var root = JsonNode.Parse(File.ReadAllText(CachePath))!;
        Assert.Equal(1, root["version"]!.GetValue<int>());
    }

    [Fact]
    public void An_unwritable_cache_keeps_the_decision()
    {
        Directory.CreateDirectory(folder);
        string blocker = Path.Combine(folder, "a-file");
        File.WriteAllText(blocker, "");
        var cache = new PrecisionCache(Path.Combine(blocker, "precision.json"));   // its folder is a file
        var decision = AutoPrecision.Decide(Key, () => new(0.2, 0.1), cache);
        Assert.Equal(Precision.Bf16, decision.Precision);
        Assert.Null(cache.Lookup(Key));
    }

    [Fact]
    public void Writers_that_race_never_leave_an_unreadable_file()
    {
        var keys = Enumerable.Range(0, 8).Select(i => Key with { Threads = i + 1 }).ToArray();
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var cache = new PrecisionCache(CachePath);   // as separate processes: nothing shared but the file
            cache.Store(keys[i % keys.Length], new PrecisionMeasurement(0.1 + i, 0.1));
            if (cache.Lookup(keys[(i + 3) % keys.Length]) is { } m) Assert.True(m.Bf16Speedup >= 1, $"{m}");   // whole entries only
        });
        var root = JsonNode.Parse(File.ReadAllText(CachePath))!;   // whole: every write was a rename
        Assert.NotEmpty(root["entries"]!.AsObject());
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(CachePath)!, "*.tmp"));
    }

    [Fact]
    public void The_cache_lives_where_the_environment_says()
    {
        const string home = "/home/u";
        static Func<string, string?> Env(params (string Name, string Value)[] vars) => name => vars.FirstOrDefault(v => v.Name == name).Value;
        Assert.Equal("/home/u/.cache/maedsl/precision.json", PrecisionCache.DefaultPath(Env(), home));
        Assert.Equal("/xdg/maedsl/precision.json", PrecisionCache.DefaultPath(Env(("XDG_CACHE_HOME", "/xdg")), home));
        Assert.Equal("/home/u/.cache/maedsl/precision.json", PrecisionCache.DefaultPath(Env(("XDG_CACHE_HOME", "relative/ignored")), home));
        Assert.Equal("/tests/p.json", PrecisionCache.DefaultPath(Env(("XDG_CACHE_HOME", "/xdg"), (PrecisionCache.EnvironmentVariable, "/tests/p.json")), home));
    }

    [Fact]
    public void A_large_model_is_calibrated_on_a_batch_that_keeps_the_step_short()
    {
        var vitL = MaeModels.Find("vit-l16").Spec;
        var calibration = new PrecisionCalibration(vitL, PrecisionWorkload.Pretrain, batch: 64);
        long perImage = (vitL with { EncoderDepth = 1, DecoderDepth = 1 }).TrainingFlopsPerImage;   // one block each
        Assert.Equal((int)(PrecisionCalibration.StepFlops / perImage), calibration.Batch);
        Assert.InRange(calibration.Batch, 2, 8);
        Assert.Equal(1, new PrecisionCalibration(vitL, PrecisionWorkload.Pretrain, batch: 1).Batch);   // never more than the run's
        Assert.Contains("encoder 1024/16/4096 on 50 tokens, decoder 512/16/2048 on 197", calibration.Shape);
    }
}

/// <summary>Runs alone (no other test draws from torch's global generator meanwhile): the calibration must leave it as it was.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchGlobalGeneratorCollection
{
    public const string Name = "torch's global generator";
}

[Collection(TorchGlobalGeneratorCollection.Name)]
public class PrecisionCalibrationTests
{
    [Theory]
    [InlineData(nameof(PrecisionWorkload.Pretrain))]     // by name: PrecisionWorkload is internal, a test method's parameters public
    [InlineData(nameof(PrecisionWorkload.Classifier))]
    [InlineData(nameof(PrecisionWorkload.Encode))]
    public void The_calibration_times_both_precisions_at_the_models_shapes_and_leaves_torchs_generator_alone(string workloadName)
    {
        var workload = Enum.Parse<PrecisionWorkload>(workloadName);
        var spec = MaeDsl.Tests.Training.TinyMae.TinySpec;
        var calibration = new PrecisionCalibration(spec, workload, batch: 8);
        Assert.Equal(8, calibration.Batch);                                    // a tiny model: the run's batch
        Assert.Contains($"encoder {spec.EncoderWidth}/{spec.EncoderHeads}/{spec.EncoderMlpHidden}", calibration.Shape);
        Assert.EndsWith(", batch 8", calibration.Shape);
        torch.random.manual_seed(123);
        using var expected = torch.rand(4);
        torch.random.manual_seed(123);
        var m = calibration.Measure();
        using var after = torch.rand(4);
        Assert.True(m.Fp32Seconds > 0 && m.Bf16Seconds > 0 && double.IsFinite(m.Bf16Speedup), $"{m}");
        Assert.True(after.allclose(expected, 0, 0), "the calibration moved torch's global generator");
    }
}

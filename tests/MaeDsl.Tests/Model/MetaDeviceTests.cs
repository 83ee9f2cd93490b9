using MaeDsl.Data;

namespace MaeDsl.Tests.Model;

/// <summary>
/// Device-correctness without a GPU: libtorch's meta device computes shapes and dtypes only and refuses an elementwise op
/// that mixes a meta tensor with a CPU one, so a tensor the runtime made on the CPU by mistake fails the step. Every
/// registered model is built, moved to meta by its recipe (as --device does) and runs, from CPU batches as the loader gives
/// them, the recipe's loss, backward and one optimizer step: pre-training in fp32 and bf16, and the fine-tuning classifier
/// (mixup, cutmix, random erasing, drop path, layer-wise decay AdamW) in fp32 and bf16. Meta does not check every op (cat,
/// gather's index, index_put and copy_ accept a CPU operand), so each output's device is asserted too. See docs/device.md.
/// </summary>
public class MetaDeviceTests : IDisposable
{
    static readonly Device Meta = new(DeviceType.META);
    readonly string root = Path.Combine(Path.GetTempPath(), "maedsl-meta-tests", Guid.NewGuid().ToString("N"));

    public MetaDeviceTests() => MaeDsl.Native.TorchRuntime.EnsureLoaded();

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    /// <summary>Building ViT-L and ViT-H on the CPU (their initialisation) takes minutes here: those run with the slow tests.</summary>
    const long LargeModel = 200_000_000;

    public static TheoryData<string> RegisteredModels => new(MaeModels.All.Where(m => m.Spec.ParameterCount < LargeModel).Select(m => m.Key));
    public static TheoryData<string> LargeRegisteredModels => new(MaeModels.All.Where(m => m.Spec.ParameterCount >= LargeModel).Select(m => m.Key));

    RunOptions Run(int batch) => new() { BatchSize = batch, Device = "meta", OutputDir = root, TensorBoard = false, Workers = 1, ClipGrad = null };

    static void AssertMeta(Tensor t, string what) => Assert.True(Devices.IsMeta(t), $"{what} is on {t.device}, not on meta");

    static void AssertStepRan(IEnumerable<(string Name, TorchSharp.Modules.Parameter P)> parameters)
    {
        int withGrad = 0;
        foreach (var (name, p) in parameters)
        {
            AssertMeta(p, name);
            if (p.requires_grad && p.grad is { } g) { AssertMeta(g, name + ".grad"); withGrad++; }
        }
        Assert.True(withGrad > 0, "no parameter received a gradient");
    }

    [Theory]
    [MemberData(nameof(RegisteredModels))]
    public void Every_registered_model_pretrains_and_fine_tunes_on_meta_in_fp32_and_bf16(string key) => PretrainAndFineTuneOnMeta(key);

    [Theory]
    [Trait("Category", "Slow")]
    [MemberData(nameof(LargeRegisteredModels))]
    public void Every_large_registered_model_pretrains_and_fine_tunes_on_meta_in_fp32_and_bf16(string key) => PretrainAndFineTuneOnMeta(key);

    void PretrainAndFineTuneOnMeta(string key)
    {
        var info = MaeModels.Find(key);
        var spec = info.Spec;
        const int batch = 2;
        using var images = rand(batch, spec.Channels, spec.ImageSize, spec.ImageSize);   // a loader's batch: on the CPU
        using var labels = tensor(new long[] { 0, 1 });

        using (var model = info.Create(seed: 0))
        using (var trainer = new Pretrainer(model, new PretrainOptions { Run = Run(batch) }))
        {
            Assert.Equal(DeviceType.META, trainer.Device.type);
            foreach (var precision in new[] { Precision.Fp32, Precision.Bf16 })
            {
                using var scope = NewDisposeScope();
                model.Precision = precision;
                var loss = trainer.TrainingLoss(images, epoch: 0, step: 0);
                AssertMeta(loss, $"{key} {precision} loss");
                Assert.Equal(ScalarType.Float32, loss.dtype);
                Assert.Empty(loss.shape);
                loss.backward();
                AssertStepRan(model.named_parameters());
                trainer.Optimizer.step();
                trainer.Optimizer.zero_grad();
                foreach (var (name, p) in model.named_parameters()) AssertMeta(p, name + " after the step");

                var output = model.forward(Devices.To(images, Meta));   // the model's own noise, drawn on the CPU and moved
                foreach (var (name, t) in new[] { ("pred", output.Pred), ("mask", output.Mask), ("ids_restore", output.IdsRestore), ("latent", output.Latent) })
                    AssertMeta(t, $"{key} {precision} {name}");
                Assert.Equal(ScalarType.Float32, output.Pred.dtype);
                AssertMeta(model.Encode(Devices.To(images, Meta)), $"{key} {precision} Encode");
            }
        }

        var options = new FineTuneOptions { NumClasses = 2, Run = Run(batch), Mixup = 0.8, Cutmix = 1.0, RandomErasing = 1.0, DropPath = 0.1 };
        using var classifier = new VitClassifier(spec, 2, globalPool: true, dropPath: 0.1, seed: 0);
        using var tuner = new FineTuner(classifier, options);
        foreach (var precision in new[] { Precision.Fp32, Precision.Bf16 })
        {
            using var scope = NewDisposeScope();
            classifier.Precision = precision;
            var loss = tuner.TrainingLoss(images, labels, epoch: 0, step: precision == Precision.Fp32 ? 0 : 1);
            AssertMeta(loss, $"{key} classifier {precision} loss");
            loss.backward();
            AssertStepRan(classifier.named_parameters());
            tuner.Optimizer.step();
            tuner.Optimizer.zero_grad();
            AssertMeta(classifier.forward(Devices.To(images, Meta)), $"{key} classifier {precision} logits");
        }
    }
}

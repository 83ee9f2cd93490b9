// PrecisionCalibration: times one step of a model's shapes in fp32 and in bf16 (the measurement behind --precision auto).
using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace MaeDsl;

/// <summary>
/// The calibration of <c>--precision auto</c>: the model's own step (<see cref="PrecisionWorkload"/>) on random images, at the
/// model's widths, heads, MLP sizes, image and patch sizes and token counts (so the matmuls the run will do), with one encoder and
/// one decoder block (every block of a model has the same shapes) and as many images of the run's batch as keep a step within
/// <see cref="StepFlops"/>. One untimed step per precision, then <see cref="Rounds"/> rounds of fp32, bf16 alternately; each
/// precision's fastest step counts (the least disturbed by other work on the machine): 8 steps of at most
/// <see cref="StepFlops"/> each (times measured: docs/benchmarks.md, "precision auto per machine").
/// Torch's global generator is left as it was (the calibration draws from generators of its own).
/// </summary>
internal sealed class PrecisionCalibration
{
    /// <summary>The matmul FLOPs one calibration step may take (about 0.1 s at 200 GFLOP/s: a few images of a ViT, the whole batch of a tiny model).</summary>
    public const double StepFlops = 24e9;
    /// <summary>Timed steps per precision.</summary>
    public const int Rounds = 3;

    readonly MaeSpec spec;
    readonly PrecisionWorkload workload;

    /// <param name="spec">The run's model.</param>
    /// <param name="workload">What the run does with it.</param>
    /// <param name="batch">The run's batch (the calibration's is at most this).</param>
    public PrecisionCalibration(MaeSpec spec, PrecisionWorkload workload, int batch)
    {
        this.spec = spec with
        {
            EncoderDepth = Math.Min(spec.EncoderDepth, 1), DecoderDepth = Math.Min(spec.DecoderDepth, 1), DropPath = 0,
        };
        this.workload = workload;
        double flops = workload switch
        {
            PrecisionWorkload.Pretrain => this.spec.TrainingFlopsPerImage,
            PrecisionWorkload.Classifier => 3.0 * this.spec.EncodeFlopsPerImage,   // forward, and a backward of twice its size
            _ => this.spec.EncodeFlopsPerImage,
        };
        Batch = (int)Math.Clamp(Math.Floor(StepFlops / Math.Max(1, flops)), 1, Math.Max(1, batch));
    }

    /// <summary>Images per calibration step.</summary>
    public int Batch { get; }

    /// <summary>The shapes timed, as the cache key records them, e.g.
    /// <c>pretrain 28x28x1 patch 4 encoder 64/4/256 on 13 tokens, decoder 64/4/256 on 50, batch 256</c>.</summary>
    public string Shape
    {
        get
        {
            var s = spec;
            int encoderTokens = 1 + (workload == PrecisionWorkload.Pretrain && !s.MaskTokensInEncoder ? s.VisibleCount : s.NumPatches);
            string text = string.Create(CultureInfo.InvariantCulture,
                $"{workload.ToString().ToLowerInvariant()} {s.ImageSize}x{s.ImageSize}x{s.Channels} patch {s.PatchSize} " +
                $"encoder {s.EncoderWidth}/{s.EncoderHeads}/{s.EncoderMlpHidden} on {encoderTokens} tokens");
            if (workload == PrecisionWorkload.Pretrain)
                text += string.Create(CultureInfo.InvariantCulture, $", decoder {s.DecoderWidth}/{s.DecoderHeads}/{s.DecoderMlpHidden} on {1 + s.NumPatches}");
            return text + string.Create(CultureInfo.InvariantCulture, $", batch {Batch}");
        }
    }

    /// <summary>Times the step in both precisions (see the class).</summary>
    public PrecisionMeasurement Measure() => MaeDsl.Native.NoGcDuringTorch.Run(() =>
    {
        using var rng = random.get_rng_state();
        try
        {
            using var images = randn([Batch, spec.Channels, spec.ImageSize, spec.ImageSize], generator: new Generator(7));
            Action<Precision> step = workload switch
            {
                PrecisionWorkload.Pretrain => PretrainStep(images),
                PrecisionWorkload.Classifier => ClassifierStep(images),
                _ => EncodeStep(images),
            };
            step(Precision.Fp32);
            step(Precision.Bf16);
            double fp32 = double.MaxValue, bf16 = double.MaxValue;
            for (int round = 0; round < Rounds; round++)
            {
                fp32 = Math.Min(fp32, Time(step, Precision.Fp32));
                bf16 = Math.Min(bf16, Time(step, Precision.Bf16));
            }
            return new PrecisionMeasurement(fp32, bf16);
        }
        finally
        {
            random.set_rng_state(rng);
            disposables.ForEach(d => d.Dispose());
            disposables.Clear();
        }
    });

    readonly List<IDisposable> disposables = [];

    static double Time(Action<Precision> step, Precision precision)
    {
        var clock = Stopwatch.StartNew();
        step(precision);
        return clock.Elapsed.TotalSeconds;
    }

    Action<Precision> PretrainStep(Tensor images)
    {
        var model = new CalibrationMae(spec);
        disposables.Add(model);
        model.train();
        using var noiseSource = model.DrawNoise(images.shape[0]);
        var noise = noiseSource.clone();
        disposables.Add(noise);
        return precision =>
        {
            using var scope = NewDisposeScope();
            model.Precision = precision;
            var output = model.forward(images, noise);
            output.Loss.backward();
            model.zero_grad();
        };
    }

    Action<Precision> ClassifierStep(Tensor images)
    {
        var model = new VitClassifier(spec, 10, seed: 0);
        disposables.Add(model);
        model.train();
        return precision =>
        {
            using var scope = NewDisposeScope();
            model.Precision = precision;
            model.forward(images).logsumexp(-1).mean().backward();
            model.zero_grad();
        };
    }

    Action<Precision> EncodeStep(Tensor images)
    {
        var model = new CalibrationMae(spec);
        disposables.Add(model);
        model.eval();
        return precision =>
        {
            using var mode = inference_mode();
            using var scope = NewDisposeScope();
            model.Precision = precision;
            model.Encode(images);
        };
    }

    /// <summary>An MAE over any spec (the calibration needs no generated variant).</summary>
    sealed class CalibrationMae(MaeSpec spec) : MaskedAutoencoder(nameof(CalibrationMae), spec, 0)
    {
        public override MaeOutput forward(Tensor images) => ForwardCore(images, null);
        public override MaeOutput forward(Tensor images, Tensor noise) => ForwardCore(images, noise);
        public override Tensor Encode(Tensor images) => EncodeCore(images);
        public override Tensor Patchify(Tensor images) => PatchifyCore(images);
        public override Tensor Unpatchify(Tensor patches) => UnpatchifyCore(patches);
    }
}

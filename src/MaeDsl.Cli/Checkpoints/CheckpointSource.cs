// CheckpointSource: what reconstruct, embed and predict read from --checkpoint: a .ckpt of the training loop, a
// .safetensors (ours carry the run's config as metadata) or an official .pth (which names no model).
using System.Text.Json.Nodes;
using MaeDsl.Checkpoints;
using MaeDsl.Data;
using MaeDsl.Training;
using MaeDsl.Training.LinearProbing;
using static TorchSharp.torch;

namespace MaeDsl.Cli;

/// <summary>A checkpoint file and what it says about itself: the model it names and the run's configuration, when it records them.</summary>
internal sealed class CheckpointSource
{
    /// <summary>The official checkpoints that hold a decoder, for the message when one lacks it.</summary>
    public const string VisualizeCheckpoints = "mae_visualize_vit_base.pth, mae_visualize_vit_large.pth or mae_visualize_vit_large_ganloss.pth";

    CheckpointSource(string path, string kind, string? modelName, RunConfig? config)
    {
        Path = path; Kind = kind; ModelName = modelName; Config = config;
    }

    /// <summary>The absolute path.</summary>
    public string Path { get; }
    /// <summary>"ckpt", "safetensors" or "pth".</summary>
    public string Kind { get; }
    /// <summary>The model the file names (a class name such as "MaeFashionTiny", or "VitClassifier/finetune"), or null.</summary>
    public string? ModelName { get; }
    /// <summary>The run's configuration, when the file records it.</summary>
    public RunConfig? Config { get; }
    /// <summary>True when the file holds a classifier written by finetune or linprobe.</summary>
    public bool IsClassifier => ModelName?.StartsWith(nameof(VitClassifier) + "/", StringComparison.Ordinal) == true;

    /// <summary>Opens <paramref name="path"/> and reads its header or metadata (no tensor).</summary>
    public static CheckpointSource Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full) && !Directory.Exists(full)) throw new FileNotFoundException($"--checkpoint: {full} does not exist", full);
        MaeDsl.IO.FileKinds.RequireRegular(full, "checkpoint (.ckpt, .safetensors or .pth)");
        string ext = System.IO.Path.GetExtension(full).ToLowerInvariant();
        switch (ext)
        {
            case ".ckpt":
            {
                var info = CheckpointStore.ReadInfo(full);
                return new CheckpointSource(full, "ckpt", info.ModelName, RunConfig.Parse(info.Config, full));
            }
            case ".safetensors":
            {
                RunConfig? config = null;
                if (SafetensorsMetadata(full).TryGetValue("config", out var json))
                {
                    try { config = JsonNode.Parse(json) is JsonObject o ? RunConfig.Parse(o, full) : null; }
                    catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{full}: the 'config' metadata is not JSON ({e.Message})", e); }
                }
                return new CheckpointSource(full, "safetensors", config?.Model, config);
            }
            case ".pth" or ".pt" or ".bin":
                return new CheckpointSource(full, "pth", null, null);
            default:
                throw new ArgumentException($"--checkpoint: {full} is not a .ckpt, .safetensors or .pth file");
        }
    }

    /// <summary>
    /// The registered model to load: <paramref name="model"/> (--model) when given, else the one the file names; an official
    /// .pth names none, and then --model is required.
    /// </summary>
    public MaeModelInfo ResolveModel(string? model, string command = "this command")
    {
        if (model is not null) return CommonOptions.Resolve(model);
        RequirePretraining(command);
        if (ModelName is null)
            throw new ArgumentException(
                $"--model is required: {System.IO.Path.GetFileName(Path)} names no model (an official .pth never does); choose one of " +
                $"{string.Join(", ", MaeModels.All.Select(m => m.Key))}");
        return CommonOptions.Resolve(ModelName);
    }

    /// <summary>
    /// The --dataset a command on this checkpoint reads (<see cref="DataSources.ForCheckpoint"/>: the explicit one, else the recorded one),
    /// with a line saying which; with loose images (<paramref name="loose"/>) the option's value, unused.
    /// </summary>
    public string Dataset(System.CommandLine.ParseResult parse, System.CommandLine.Option<string> option, bool loose)
    {
        string? given = parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option) : null;
        if (loose) return given ?? DataSources.FashionMnistName;
        var (dataset, line) = DataSources.ForCheckpoint(given, Config, Path);
        Console.WriteLine(line);
        return dataset;
    }

    /// <summary>Refuses a classifier (finetune's or linprobe's) where <paramref name="command"/> needs a pre-training checkpoint, naming what it is.</summary>
    public void RequirePretraining(string command)
    {
        if (IsClassifier)
            throw new ArgumentException($"{Path} holds a fine-tuned classifier ({ModelName}); {command} needs a pre-training checkpoint " +
                                        "(pretrain's .ckpt or .safetensors, or an official .pth); predict classifies images with this one");
    }

    /// <summary>
    /// The weights file (.safetensors) written beside a training checkpoint (.ckpt): the one of the same name, else the newest
    /// checkpoint-*.safetensors of its folder; what --pretrained takes.
    /// </summary>
    public static string WeightsBeside(string checkpoint)
    {
        string full = System.IO.Path.GetFullPath(checkpoint);
        string beside = System.IO.Path.ChangeExtension(full, ".safetensors");
        if (!File.Exists(beside) && System.IO.Path.GetDirectoryName(full) is { } dir && Directory.Exists(dir))
            beside = Directory.GetFiles(dir, "checkpoint-*.safetensors").Order(StringComparer.Ordinal).LastOrDefault() ?? beside;
        return beside;
    }

    /// <summary>The masking the run was trained with (its config's spec), overridden by the given ratio/strategy.</summary>
    public MaskingOverride? Masking(MaeModelInfo model, double? ratio, MaskingStrategy? strategy) =>
        MaskingOverride.For(model.Spec, ratio ?? Config?.Spec?.MaskRatio, strategy ?? Config?.Spec?.Masking);

    /// <summary>
    /// Builds <paramref name="info"/>'s model and loads the file's weights into it. <paramref name="needDecoder"/>: a file
    /// without decoder weights (the official mae_pretrain_*.pth) is refused with one line naming the mae_visualize_* files;
    /// otherwise the decoder may be missing, the encoder may not.
    /// </summary>
    public MaskedAutoencoder LoadMae(MaeModelInfo info, MaskingOverride? masking, bool needDecoder, string command)
    {
        RequirePretraining(command);
        var model = info.Create(0, masking);
        try
        {
            if (Kind == "ckpt")
            {
                CheckpointStore.LoadModel(Path, model);
                return model;
            }
            var tensors = StateDicts.Read(Path);
            try
            {
                bool hasDecoder = tensors.Keys.Any(IsDecoderKey);
                if (needDecoder && !hasDecoder)
                    throw new InvalidDataException(
                        $"{Path} holds no decoder weights (an encoder-only file, like the official mae_pretrain_vit_*.pth): {command} needs the decoder; " +
                                                   $"use the official {VisualizeCheckpoints}, or a checkpoint written by pretrain");
                LoadReport report;
                try { report = StateDicts.Load(model, tensors, strict: false, Path); }
                catch (StateDictMismatchException e) { throw new StateDictMismatchException($"--model {info.Key}: {e.Message}"); }
                var missing = report.Missing.Where(k => hasDecoder || !IsDecoderKey(k)).ToList();
                if (missing.Count > 0 || report.Unexpected.Count > 0)
                    throw new StateDictMismatchException(Path, $"{info.Key} ({info.ClassName})", missing, report.Unexpected, [], "is --model right?");
            }
            finally { foreach (var t in tensors.Values) t.Dispose(); }
            return model;
        }
        catch (InvalidDataException e) when (Kind == "ckpt" && e.Message.Contains("does not fit"))
        {
            model.Dispose();
            throw new InvalidDataException(
                $"{Path} holds a {ModelName}, which does not fit --model {info.Key} ({info.ClassName}); omit --model to use the checkpoint's own", e);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A fine-tuned or linear-probe classifier and its run's configuration (only our .ckpt and .safetensors record it).</summary>
    public (VitClassifier Model, RunConfig Config) LoadClassifier()
    {
        if (Kind == "pth" || Config is null)
            throw new ArgumentException(
                $"{Path}: predict needs a checkpoint written by finetune or linprobe (.ckpt, or its .safetensors), which records the model and its classes; " +
                $"this file records neither");
        if (!IsClassifier)
            throw new ArgumentException($"{Path} holds a pre-training checkpoint ({ModelName}), not a classifier: fine-tune it first " +
                                        $"(finetune --pretrained {(Kind == "ckpt" ? WeightsBeside(Path) : Path)})");
        var spec = Config.Spec ?? throw new InvalidDataException($"{Path}: the run configuration records no model spec");
        VitClassifier model = Config.Recipe == "linprobe"
            ? LinearProbe.CreateModel(spec, Config.OptionsAs<LinearProbeOptions>())
            : new VitClassifier(spec, Config.OptionsAs<FineTuneOptions>().NumClasses, Config.OptionsAs<FineTuneOptions>().GlobalPool, 0.0, seed: 0);
        try
        {
            if (Kind == "ckpt") CheckpointStore.LoadModel(Path, model);
            else StateDicts.Load(model, Path, strict: true);
            return (model, Config);
        }
        catch { model.Dispose(); throw; }
    }

    /// <summary>The class names a classifier's run recorded (finetune/linprobe on an ImageFolder or Fashion-MNIST), or null.</summary>
    public static IReadOnlyList<string>? ClassNames(RunConfig config) =>
        config.Derived["class_names"] is JsonArray a ? a.Select(n => n?.GetValue<string>() ?? "").ToArray() : null;

    /// <summary>The normalisation a run recorded, or null.</summary>
    public static Normalization? RecordedNormalization(RunConfig? config) =>
        config?.Derived["normalization"] is JsonObject o && o["mean"] is JsonArray m && o["std"] is JsonArray s
            ? new Normalization(m.Select(v => v!.GetValue<float>()).ToArray(), s.Select(v => v!.GetValue<float>()).ToArray())
            : null;

    /// <summary>The "__metadata__" strings of a .safetensors file (the tensors are not read; the header is validated whole, by the library's one header
    /// reader).</summary>
    static Dictionary<string, string> SafetensorsMetadata(string path)
    {
        using var stream = File.OpenRead(path);
        return StateDicts.ValidateSafetensors(stream, path).Metadata;
    }

    static bool IsDecoderKey(string key) => key.StartsWith("decoder_", StringComparison.Ordinal) || key == "mask_token";
}

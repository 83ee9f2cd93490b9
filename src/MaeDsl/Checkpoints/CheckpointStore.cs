// CheckpointStore: the training loop's .ckpt files (atomic, resumable) and their .safetensors weights.
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MaeDsl.IO;
using MaeDsl.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace MaeDsl.Checkpoints;

/// <summary>What a checkpoint records besides the tensors.</summary>
/// <param name="ModelName">The model class (e.g. "MaeFashionTiny"); a resume into another model is refused.</param>
/// <param name="Epoch">The last completed epoch (0-based); a resume starts at Epoch + 1, as misc.load_model does.</param>
/// <param name="GlobalStep">Data iterations done so far over the whole run.</param>
/// <param name="OptimizerSteps">Optimizer updates done so far (GlobalStep / accum_iter when epochs divide evenly).</param>
/// <param name="Config">The run's configuration as JSON (config.json's content; files written before the single
/// training loop hold an older layout, which <c>RunConfig.Parse</c> reads).</param>
/// <param name="TorchRngState">torch's default CPU generator state (torch.get_rng_state()).</param>
public sealed record CheckpointInfo(string ModelName, int Epoch, long GlobalStep, long OptimizerSteps, JsonObject Config, byte[] TorchRngState)
{
    public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
    /// <summary>Wall time of the training iterations of every epoch so far (resumed runs included); 0 when unknown.</summary>
    public double TrainSeconds { get; init; }
    /// <summary>0: written at the end of epoch <see cref="Epoch"/>. Otherwise a mid-epoch checkpoint: this many iterations
    /// of epoch <see cref="Epoch"/> + 1 are done (a resume skips that many batches of that epoch).</summary>
    public int StepInEpoch { get; init; }
    /// <summary>The sum of the losses of the <see cref="StepInEpoch"/> iterations done in the unfinished epoch (its mean loss on resume).</summary>
    public double EpochLossSum { get; init; }
    /// <summary>Iterations skipped for a non-finite loss so far (--skip-nonfinite).</summary>
    public long SkippedSteps { get; init; }
    /// <summary>Whether the checkpoint was written inside an epoch.</summary>
    public bool MidEpoch => StepInEpoch > 0;
}

/// <summary>
/// Training checkpoints (every recipe of the training loop), written atomically (a temporary file in the same folder, flushed to disk,
/// then renamed over the target), so that a crash never leaves a torn file:
/// <list type="bullet">
/// <item><c>checkpoint-last.ckpt</c>: the newest state, rewritten at every save (what --resume usually takes);</item>
/// <item><c>checkpoint-NNNN.ckpt</c>: kept every <see cref="PeriodEpochs"/> epochs and at the end of the run;</item>
/// <item><c>checkpoint-NNNN.safetensors</c>: the model weights of each kept checkpoint under the official
///   state_dict names (<c>cls_token</c>, <c>blocks.0.attn.qkv.weight</c>, …), loadable by PyTorch's safetensors.</item>
/// </list>
/// A .ckpt file is: the magic "MAEDSLCK", a format version, the <see cref="CheckpointInfo"/> as JSON, the model's
/// state (TorchSharp's exact binary format), the optimizer's state (AdamW moments and step counts), and an end marker.
/// </summary>
public sealed class CheckpointStore
{
    const string Magic = "MAEDSLCK";
    const string EndMarker = "END.MAEDSLCK";
    const int FormatVersion = 1;
    public const string LastFileName = "checkpoint-last.ckpt";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public CheckpointStore(string directory, int periodEpochs)
    {
        if (periodEpochs < 1) throw new ArgumentOutOfRangeException(nameof(periodEpochs), periodEpochs, "checkpoints are kept every N >= 1 epochs");
        Directory = Path.GetFullPath(directory);
        PeriodEpochs = periodEpochs;
        AtomicFile.CleanOrphans(Directory);   // temporary files of a write interrupted by a crash: gone before a run or resume starts
    }

    /// <summary>The folder the checkpoints go to (absolute).</summary>
    public string Directory { get; }
    /// <summary>A numbered checkpoint is kept every this many epochs (and at the last epoch).</summary>
    public int PeriodEpochs { get; }
    public string LastPath => Path.Combine(Directory, LastFileName);
    public string PeriodicPath(int epoch) => Path.Combine(Directory, $"checkpoint-{epoch:D4}.ckpt");
    public string WeightsPath(int epoch) => Path.Combine(Directory, $"checkpoint-{epoch:D4}.safetensors");

    /// <summary>Whether epoch (0-based) gets a kept, numbered checkpoint: every PeriodEpochs epochs and the last one.</summary>
    public bool IsPeriodic(int epoch, int epochs) => (epoch + 1) % PeriodEpochs == 0 || epoch + 1 == epochs;

    /// <summary>
    /// Writes <see cref="LastPath"/> and, when <paramref name="keep"/>, the numbered checkpoint and its
    /// .safetensors weights. Returns the path a resume should use (the numbered one when kept).
    /// </summary>
    /// <remarks>A mid-epoch checkpoint (<see cref="CheckpointInfo.MidEpoch"/>) is only ever checkpoint-last.</remarks>
    public string Save(nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, CheckpointInfo info, bool keep) =>
        NoGcDuringTorch.Run(() => SaveCore(model, optimizer, info, keep));

    string SaveCore(nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, CheckpointInfo info, bool keep)
    {
        System.IO.Directory.CreateDirectory(Directory);
        AtomicFile.Write(LastPath, stream => Write(stream, model, optimizer, info));
        if (!keep) return LastPath;
        string periodic = PeriodicPath(info.Epoch);
        AtomicFile.Write(periodic, stream => { using var src = File.OpenRead(LastPath); src.CopyTo(stream); });
        ExportWeights(model, WeightsPath(info.Epoch), info.Config);
        return periodic;
    }

    /// <summary>Writes the model's state_dict as .safetensors under the official key names (atomically), with the run's config as metadata.</summary>
    public static void ExportWeights(nn.Module model, string path, JsonObject? config = null) =>
        StateDicts.Save(model, path, config is null ? null : new Dictionary<string, string> { ["config"] = config.ToJsonString() });

    /// <summary>Restores model, optimizer and torch's RNG from a checkpoint; returns its info.</summary>
    public static CheckpointInfo Load(string path, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, string? expectedModelName = null) =>
        NoGcDuringTorch.Run(() => LoadCore(path, model, optimizer, expectedModelName));

    static CheckpointInfo LoadCore(string path, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, string? expectedModelName)
    {
        using var reader = Open(path, out var info);
        if (expectedModelName is not null && info.ModelName != expectedModelName)
            throw new InvalidDataException($"{path}: the checkpoint holds a {info.ModelName}, but the run's model is {expectedModelName}");
        LoadModelState(reader, model, path);
        try { optimizer.load_state_dict(reader); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: the optimizer state does not fit this run's optimizer ({e.Message})", e);
        }
        ReadEnd(reader, path);
        using var rng = torch.tensor(info.TorchRngState, dtype: ScalarType.Byte);
        torch.random.set_rng_state(rng);
        return info;
    }

    /// <summary>Loads only the model's weights (e.g. for evaluation); returns the checkpoint's info.</summary>
    public static CheckpointInfo LoadModel(string path, nn.Module model) => NoGcDuringTorch.Run(() =>
    {
        using var reader = Open(path, out var info);
        LoadModelState(reader, model, path);
        return info;
    });

    /// <summary>Reads a checkpoint's info without touching any tensor.</summary>
    public static CheckpointInfo ReadInfo(string path)
    {
        using var reader = Open(path, out var info);
        return info;
    }

    static void Write(Stream stream, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, CheckpointInfo info)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Encoding.ASCII.GetBytes(Magic));
        writer.Write(FormatVersion);
        writer.Write(JsonSerializer.Serialize(ToJson(info), Json));
        model.save(writer);
        optimizer.save_state_dict(writer);
        writer.Write(EndMarker);
        writer.Flush();
    }

    static BinaryReader Open(string path, out CheckpointInfo info)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Checkpoint not found: {Path.GetFullPath(path)}", path);
        if (AtomicFile.IsTemporary(path))
            throw new InvalidDataException($"{path}: the temporary file of an interrupted write, not a checkpoint; expected {LastFileName} or checkpoint-NNNN.ckpt beside it");
        var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        try
        {
            var magic = reader.ReadBytes(Magic.Length);
            if (Encoding.ASCII.GetString(magic) != Magic)
                throw new InvalidDataException($"{path}: not a MaeDsl checkpoint (a .ckpt written by CheckpointStore starts with '{Magic}')");
            int version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"{path}: checkpoint format version {version}, this build reads version {FormatVersion}");
            info = FromJson(JsonNode.Parse(reader.ReadString())?.AsObject()
                ?? throw new InvalidDataException($"{path}: empty checkpoint header"), path);
            return reader;
        }
        catch (EndOfStreamException e)
        {
            reader.Dispose();
            throw new InvalidDataException($"{path}: the checkpoint is truncated", e);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    static void LoadModelState(BinaryReader reader, nn.Module model, string path)
    {
        // into the model's own tensors on its device (TorchSharp reads a non-CPU tensor through a CPU copy; the optimizer state
        // goes to its parameter's device): the files are device-free (saved from CPU copies), so a checkpoint loads on any device
        try { model.load(reader, strict: true); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: the model state does not fit {model.GetName()} ({e.Message})", e);
        }
        StateDicts.RequireFinite(model, path);
    }

    static void ReadEnd(BinaryReader reader, string path)
    {
        string end;
        try { end = reader.ReadString(); }
        catch (EndOfStreamException e) { throw new InvalidDataException($"{path}: the checkpoint is truncated", e); }
        if (end != EndMarker) throw new InvalidDataException($"{path}: the checkpoint does not end with its end marker (torn or corrupt file)");
    }

    static JsonObject ToJson(CheckpointInfo info) => new()
    {
        ["format"] = "maedsl-pretrain-checkpoint",
        ["model"] = info.ModelName,
        ["epoch"] = info.Epoch,
        ["global_step"] = info.GlobalStep,
        ["optimizer_steps"] = info.OptimizerSteps,
        ["created_utc"] = info.CreatedUtc.ToString("O"),
        ["torch_rng_state"] = Convert.ToBase64String(info.TorchRngState),
        ["train_seconds"] = info.TrainSeconds,
        ["step_in_epoch"] = info.StepInEpoch,
        ["epoch_loss_sum"] = info.EpochLossSum,
        ["skipped_steps"] = info.SkippedSteps,
        ["config"] = info.Config.DeepClone(),
    };

    static CheckpointInfo FromJson(JsonObject o, string path)
    {
        T Get<T>(string key) => o[key] is { } node ? node.GetValue<T>()
            : throw new InvalidDataException($"{path}: checkpoint header lacks '{key}'");
        return new CheckpointInfo(
            Get<string>("model"), Get<int>("epoch"), Get<long>("global_step"), Get<long>("optimizer_steps"),
            (o["config"] as JsonObject)?.DeepClone().AsObject() ?? throw new InvalidDataException($"{path}: checkpoint header lacks 'config'"),
            Convert.FromBase64String(Get<string>("torch_rng_state")))
        {
            CreatedUtc = DateTime.Parse(Get<string>("created_utc"), null, System.Globalization.DateTimeStyles.RoundtripKind),
            // older classifier checkpoints kept it in their config
            TrainSeconds = (o["train_seconds"] ?? o["config"]?["train_seconds"])?.GetValue<double>() ?? 0,
            StepInEpoch = o["step_in_epoch"]?.GetValue<int>() ?? 0,
            EpochLossSum = o["epoch_loss_sum"]?.GetValue<double>() ?? 0,
            SkippedSteps = o["skipped_steps"]?.GetValue<long>() ?? 0,
        };
    }
}

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
/// state (TorchSharp's exact binary format), the optimizer's state (AdamW moments and step counts), an end marker and
/// (format 2) a checksum footer: the XXH3-64 digest of the model section (magic to the model's last byte), of the optimizer
/// section (to the end marker) and of every model tensor, as JSON, then its length and the magic "MAEDSLSM". Every load
/// checks the sections it reads and that the footer is there (a cut file has none), and names the damaged tensor; a file of
/// format 1 (written before checksums) still loads, with one line through <see cref="Notice"/> saying it is unverified.
/// </summary>
public sealed class CheckpointStore
{
    const string Magic = "MAEDSLCK";
    const string EndMarker = "END.MAEDSLCK";
    const string FooterMagic = "MAEDSLSM";
    const int FormatVersion = 2, UnverifiedVersion = 1;
    public const string LastFileName = "checkpoint-last.ckpt";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>Where a load reports a file it cannot verify (a checkpoint written before checksums): one line per file and
    /// process. Standard error by default; set it to route the line elsewhere (a log), or to null to drop it.</summary>
    public static Action<string>? Notice { get; set; } = static line => Console.Error.WriteLine(line);

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> noticed = new();

    /// <summary>Reports, once per file and process, that <paramref name="path"/> carries no checksum.</summary>
    internal static void NoteUnverified(string path, string what)
    {
        if (noticed.TryAdd(Path.GetFullPath(path), 0))
            Notice?.Invoke($"note: {path} carries no checksum ({what} written before checksums); it is loaded unverified");
    }

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
        using var file = CheckpointFile.Open(path);
        var info = file.Info;
        if (expectedModelName is not null && info.ModelName != expectedModelName)
            throw new InvalidDataException($"{path}: the checkpoint holds a {info.ModelName}, but the run's model is {expectedModelName}");
        file.LoadModel(model);
        file.LoadOptimizer(optimizer);
        using var rng = torch.tensor(info.TorchRngState, dtype: ScalarType.Byte);
        torch.random.set_rng_state(rng);
        return info;
    }

    /// <summary>Loads only the model's weights (e.g. for evaluation), checked against the file's checksums; returns the checkpoint's info.</summary>
    public static CheckpointInfo LoadModel(string path, nn.Module model) => NoGcDuringTorch.Run(() =>
    {
        using var file = CheckpointFile.Open(path);
        file.LoadModel(model);
        return file.Info;
    });

    /// <summary>Reads a checkpoint's info without touching any tensor (a checkpoint with checksums must have its footer: a cut file is refused).</summary>
    public static CheckpointInfo ReadInfo(string path)
    {
        using var file = CheckpointFile.Open(path);
        return file.Info;
    }

    /// <summary>
    /// Whether <paramref name="path"/> is whole: every section matches its checksum (no tensor is read into a model). A file
    /// written before checksums passes when it ends with its end marker. <paramref name="problem"/> says what is wrong.
    /// </summary>
    internal static bool Verifies(string path, out string? problem)
    {
        try
        {
            using var file = CheckpointFile.Open(path);
            file.VerifyAll();
            problem = null;
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            problem = e.Message;
            return false;
        }
    }

    /// <summary>
    /// The newest checkpoint that verifies, for a message that offers a resume point: <paramref name="candidate"/> when it
    /// verifies, else the newest numbered checkpoint beside it that does; null when none does.
    /// </summary>
    internal static string? NewestVerified(string? candidate)
    {
        if (candidate is null) return null;
        if (Verifies(candidate, out _)) return candidate;
        string full = Path.GetFullPath(candidate);
        var folder = Path.GetDirectoryName(full)!;
        var numbered = System.IO.Directory.Exists(folder)
            ? System.IO.Directory.GetFiles(folder, "checkpoint-*.ckpt").Where(f => f != full).OrderByDescending(f => f, StringComparer.Ordinal)
            : Enumerable.Empty<string>();
        return numbered.FirstOrDefault(f => Verifies(f, out _));
    }

    /// <summary>Where a checkpoint's model and optimizer sections end (its checksum footer), or null for a file without one.</summary>
    internal static (long ModelEnd, long OptimizerEnd)? Sections(string path)
    {
        using var stream = File.OpenRead(path);
        return CheckpointFooter.Read(stream, path) is { } f ? (f.ModelEnd, f.OptimizerEnd) : null;
    }

    static void Write(Stream stream, nn.Module model, TorchSharp.Modules.OptimizerHelper optimizer, CheckpointInfo info)
    {
        using var digesting = new DigestingStream(stream);
        using (var writer = new BinaryWriter(digesting, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Encoding.ASCII.GetBytes(Magic));
            writer.Write(FormatVersion);
            writer.Write(JsonSerializer.Serialize(ToJson(info), Json));
            model.save(writer);
            writer.Flush();
        }
        long modelEnd = digesting.Position;
        string modelDigest = digesting.TakeDigest();
        using (var writer = new BinaryWriter(digesting, Encoding.UTF8, leaveOpen: true))
        {
            optimizer.save_state_dict(writer);
            writer.Write(EndMarker);
            writer.Flush();
        }
        long optimizerEnd = digesting.Position;
        var footer = new CheckpointFooter(modelEnd, modelDigest, optimizerEnd, digesting.TakeDigest(), Checksums.Of(model.state_dict()));
        var json = Encoding.UTF8.GetBytes(footer.ToJson());
        stream.Write(json);
        stream.Write(BitConverter.GetBytes((long)json.Length));
        stream.Write(Encoding.ASCII.GetBytes(FooterMagic));
    }

    /// <summary>The checksum footer of a format-2 checkpoint: where each section ends and its digest, and each model tensor's digest.</summary>
    sealed record CheckpointFooter(long ModelEnd, string ModelDigest, long OptimizerEnd, string OptimizerDigest, Dictionary<string, string> Tensors)
    {
        public string ToJson() => new JsonObject
        {
            ["algorithm"] = Checksums.Algorithm,
            ["model"] = new JsonObject { ["end"] = ModelEnd, ["digest"] = ModelDigest },
            ["optimizer"] = new JsonObject { ["end"] = OptimizerEnd, ["digest"] = OptimizerDigest },
            ["tensors"] = new JsonObject(Tensors.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        }.ToJsonString();

        /// <summary>The footer at the end of <paramref name="stream"/>, or null when the file does not end with one.</summary>
        public static CheckpointFooter? Read(Stream stream, string path)
        {
            long length = stream.Length;
            if (length < 16) return null;
            var tail = new byte[16];
            stream.Position = length - 16;
            stream.ReadExactly(tail);
            if (Encoding.ASCII.GetString(tail, 8, 8) != FooterMagic) return null;
            long size = BitConverter.ToInt64(tail, 0);
            if (size <= 0 || size > Math.Min(length - 16, 64L << 20))
                throw new InvalidDataException($"{path}: the checkpoint is damaged: its checksum footer has a length of {size} bytes in a file of {length}");
            var json = new byte[size];
            stream.Position = length - 16 - size;
            stream.ReadExactly(json);
            CheckpointFooter footer;
            try
            {
                var o = JsonNode.Parse(json)!.AsObject();
                if (o["algorithm"]?.GetValue<string>() is { } algorithm && algorithm != Checksums.Algorithm)
                    throw new InvalidDataException($"{path}: checksums of algorithm '{algorithm}', this build checks {Checksums.Algorithm}");
                footer = new CheckpointFooter(
                    o["model"]!["end"]!.GetValue<long>(), o["model"]!["digest"]!.GetValue<string>(),
                    o["optimizer"]!["end"]!.GetValue<long>(), o["optimizer"]!["digest"]!.GetValue<string>(),
                    o["tensors"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
            {
                throw new InvalidDataException($"{path}: the checkpoint is damaged: its checksum footer is not readable ({e.Message})", e);
            }
            if (footer.ModelEnd <= 0 || footer.OptimizerEnd < footer.ModelEnd || footer.OptimizerEnd != length - 16 - size)
                throw new InvalidDataException(
                    $"{path}: the checkpoint is damaged: its checksum footer gives sections that do not fit a file of {length} bytes");
            return footer;
        }
    }

    /// <summary>An open checkpoint: its header read, the rest read section by section, each checked against its checksum.</summary>
    sealed class CheckpointFile : IDisposable
    {
        static readonly Type[] LoadFailures =
        [
            typeof(ArgumentException), typeof(InvalidDataException), typeof(EndOfStreamException), typeof(IOException),
            typeof(InvalidOperationException), typeof(OverflowException), typeof(KeyNotFoundException), typeof(FormatException),
        ];

        readonly string path;
        readonly FileStream file;
        readonly DigestingStream digesting;
        readonly BinaryReader reader;
        readonly CheckpointFooter? footer;

        CheckpointFile(string path, FileStream file, CheckpointFooter? footer)
        {
            this.path = path;
            this.file = file;
            this.footer = footer;
            digesting = new DigestingStream(file);
            reader = new BinaryReader(digesting, Encoding.UTF8, leaveOpen: true);
        }

        public CheckpointInfo Info { get; private set; } = null!;

        public static CheckpointFile Open(string path)
        {
            FileKinds.RequireRegular(path, "checkpoint (.ckpt)");
            if (AtomicFile.IsTemporary(path))
                throw new InvalidDataException(
                    $"{path}: the temporary file of an interrupted write, not a checkpoint; expected {LastFileName} or checkpoint-NNNN.ckpt beside it");
            var stream = File.OpenRead(path);
            CheckpointFile? opened = null;
            try
            {
                var footer = CheckpointFooter.Read(stream, path);
                stream.Position = 0;
                opened = new CheckpointFile(path, stream, footer);
                opened.ReadHeader();
                return opened;
            }
            catch (EndOfStreamException e)
            {
                if (opened is null) stream.Dispose(); else opened.Dispose();
                throw new InvalidDataException($"{path}: the checkpoint is truncated", e);
            }
            catch
            {
                if (opened is null) stream.Dispose(); else opened.Dispose();
                throw;
            }
        }

        void ReadHeader()
        {
            var magic = reader.ReadBytes(Magic.Length);
            if (Encoding.ASCII.GetString(magic) != Magic)
                throw new InvalidDataException($"{path}: not a MaeDsl checkpoint (a .ckpt written by CheckpointStore starts with '{Magic}')");
            int version = reader.ReadInt32();
            if (version != FormatVersion && version != UnverifiedVersion)
                throw new InvalidDataException(
                    $"{path}: checkpoint format version {version}, this build reads versions {UnverifiedVersion} and {FormatVersion}");
            if (version == FormatVersion && footer is null)
                throw new InvalidDataException($"{path}: the checkpoint is truncated or damaged: it lacks the checksum footer it was written with " +
                                               $"(a file of {file.Length} bytes); use an earlier checkpoint");
            if (version == UnverifiedVersion) NoteUnverified(path, "a checkpoint");
            JsonObject? header;
            try { header = JsonNode.Parse(reader.ReadString())?.AsObject(); }
            catch (Exception e) when (e is JsonException or InvalidOperationException) { throw Damaged($"its header is not JSON ({e.Message})", e); }
            if (header is null) throw Damaged("empty checkpoint header");
            try { Info = FromJson(header, path); }
            catch (Exception e) when (e is FormatException or InvalidOperationException) { throw Damaged($"its header is not readable ({e.Message})", e); }
        }

        // An unreadable header: when the file has checksums, say from them that it is damaged.
        InvalidDataException Damaged(string what, Exception? inner = null)
        {
            if (footer is not null && digesting.Position <= footer.ModelEnd && digesting.ReadTo(footer.ModelEnd)
                && digesting.TakeDigest() != footer.ModelDigest)
                return new InvalidDataException(
                    $"{path}: the checkpoint is damaged: its header does not match the checksum written with it ({what}); use an earlier checkpoint", inner);
            return new InvalidDataException($"{path}: {what}", inner);
        }

        static bool IsLoadFailure(Exception e) => LoadFailures.Any(t => t.IsInstanceOfType(e));

        /// <summary>Loads the model's state (strict), then checks it against the file's checksums and that every weight is finite.</summary>
        public void LoadModel(nn.Module model)
        {
            Exception? failure = null;
            try { model.load(reader, strict: true); }
            catch (Exception e) when (IsLoadFailure(e)) { failure = e; }
            if (footer is not null)
            {
                bool reached = digesting.Position <= footer.ModelEnd && digesting.ReadTo(footer.ModelEnd);
                if (!reached || digesting.TakeDigest() != footer.ModelDigest)
                {
                    var damaged = failure is null ? Checksums.Differing(footer.Tensors, Checksums.Of(model.state_dict())) : [];
                    throw new InvalidDataException(damaged.Count > 0
                        ? $"{path}: the checkpoint is damaged: {(damaged.Count > 1 ? "tensors" : "tensor")} {Checksums.Few(damaged)} of {model.GetName()} " +
                          $"{(damaged.Count > 1 ? "do" : "does")} not match the checksum written with {(damaged.Count > 1 ? "them" : "it")} " +
                          "(the file changed after it was written); use an earlier checkpoint"
                        : $"{path}: the checkpoint is damaged: its model state (bytes 0–{footer.ModelEnd}) does not match the checksum written with it " +
                          "(the file changed after it was written); use an earlier checkpoint", failure);
                }
            }
            if (failure is EndOfStreamException) throw new InvalidDataException($"{path}: the checkpoint is truncated", failure);
            if (failure is not null)
                throw new InvalidDataException($"{path}: the model state does not fit {model.GetName()} ({failure.Message})", failure);
            StateDicts.RequireFinite(model, path);
        }

        /// <summary>Loads the optimizer's state, then checks it and the end marker against the file's checksum.</summary>
        public void LoadOptimizer(TorchSharp.Modules.OptimizerHelper optimizer)
        {
            Exception? failure = null;
            string? end = null;
            try
            {
                optimizer.load_state_dict(reader);
                end = reader.ReadString();
            }
            catch (Exception e) when (IsLoadFailure(e)) { failure = e; }
            if (footer is not null)
            {
                bool reached = digesting.Position <= footer.OptimizerEnd && digesting.ReadTo(footer.OptimizerEnd);
                if (!reached || digesting.TakeDigest() != footer.OptimizerDigest)
                    throw new InvalidDataException(
                        $"{path}: the checkpoint is damaged: its optimizer state (bytes {footer.ModelEnd}–{footer.OptimizerEnd}) does not match " +
                                                   "the checksum written with it (the file changed after it was written); use an earlier checkpoint", failure);
            }
            if (failure is EndOfStreamException) throw new InvalidDataException($"{path}: the checkpoint is truncated", failure);
            if (failure is not null)
                throw new InvalidDataException($"{path}: the optimizer state does not fit this run's optimizer ({failure.Message})", failure);
            if (end != EndMarker) throw new InvalidDataException($"{path}: the checkpoint does not end with its end marker (torn or corrupt file)");
        }

        /// <summary>Checks every section against its checksum without loading a tensor (format 1: that the end marker closes the file).</summary>
        public void VerifyAll()
        {
            if (footer is null)
            {
                if (file.Length < EndMarker.Length + 1) throw new InvalidDataException($"{path}: the checkpoint is truncated");
                file.Position = file.Length - EndMarker.Length - 1;
                using var tail = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
                if (tail.ReadString() != EndMarker)
                    throw new InvalidDataException($"{path}: the checkpoint does not end with its end marker (torn or corrupt file)");
                return;
            }
            if (!digesting.ReadTo(footer.ModelEnd) || digesting.TakeDigest() != footer.ModelDigest)
                throw new InvalidDataException($"{path}: the checkpoint is damaged: its model state does not match the checksum written with it");
            if (!digesting.ReadTo(footer.OptimizerEnd) || digesting.TakeDigest() != footer.OptimizerDigest)
                throw new InvalidDataException($"{path}: the checkpoint is damaged: its optimizer state does not match the checksum written with it");
        }

        public void Dispose()
        {
            reader.Dispose();
            digesting.Dispose();
            file.Dispose();
        }
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

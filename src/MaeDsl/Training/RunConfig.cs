// RunConfig: config.json (and a checkpoint's copy of it) in one snake_case layout, with the inputs separate from
// the values computed from them; files written before the single training loop are converted when read.
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MaeDsl.Training;

/// <summary>
/// A run's configuration as config.json stores it (version 2), all keys snake_case:
/// <code>
/// { "version": 2, "recipe": "pretrain", "model": "MaeFashionTiny",
///   "run":     { "epochs": 3, "batch_size": 256, "accum_iter": 1, "base_lr": 0.0015, "lr": null, ... },   // inputs (RunOptions)
///   "options": { "beta1": 0.9, "beta2": 0.95 },                                                         // the recipe's own inputs
///   "derived": { "absolute_lr": 0.0015, "effective_batch": 256, "steps_per_epoch": 234 },                // computed, never read back as inputs
///   "spec":    { "image_size": 28, "patch_size": 4, ... } }                                              // the model's MaeSpec (its inputs)
/// </code>
/// <see cref="Parse"/> also reads the two layouts written before (version 1): pre-training's flat snake_case (where
/// "lr" held the computed peak lr) and the classifiers' PascalCase (where "Lr" was the input and "lr" the computed lr);
/// anything else is refused with one line that says why.
/// </summary>
internal sealed record RunConfig
{
    public const int CurrentVersion = 2;
    public const string FileName = "config.json";

    /// <summary>"pretrain", "finetune" or "linprobe".</summary>
    public required string Recipe { get; init; }
    /// <summary>The model's name as the checkpoints record it (e.g. "MaeFashionTiny", "VitClassifier/finetune"); null if unknown.</summary>
    public string? Model { get; init; }
    public required RunOptions Run { get; init; }
    /// <summary>The recipe's own options (snake_case, without "run").</summary>
    public JsonObject Options { get; init; } = new();
    /// <summary>Values computed from the inputs and the data: absolute_lr, effective_batch, steps_per_epoch, train_images, ...</summary>
    public JsonObject Derived { get; init; } = new();
    public MaeSpec? Spec { get; init; }
    /// <summary>What the data and the runner add to the options (dataset root, image count, class names, crop scale; keys
    /// in <see cref="OptionClasses.InputKeys"/>); each changes the trajectory. Written as "inputs" when not empty.</summary>
    public JsonObject Inputs { get; init; } = new();
    /// <summary>The layout the configuration was read from: 2, or 1 for a file written before the single training loop.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>snake_case, indented; what config.json and the checkpoints use.</summary>
    public static JsonSerializerOptions Json { get; } = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>The configuration of a run of <paramref name="recipeOptions"/> (a PretrainOptions, FineTuneOptions or LinearProbeOptions).</summary>
    public static RunConfig For(string recipe, string? model, RunOptions run, object recipeOptions, MaeSpec? spec, JsonObject? derived = null,
        JsonObject? inputs = null)
    {
        var options = JsonSerializer.SerializeToNode(recipeOptions, recipeOptions.GetType(), Json)!.AsObject();
        options.Remove("run");
        var computed = new JsonObject { ["absolute_lr"] = run.AbsoluteLr, ["effective_batch"] = run.EffectiveBatch };
        foreach (var (k, v) in derived ?? new JsonObject()) computed[k] = v?.DeepClone();
        return new RunConfig { Recipe = recipe, Model = model, Run = run, Options = options, Derived = computed, Spec = spec,
                               Inputs = inputs?.DeepClone().AsObject() ?? new JsonObject() };
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["version"] = CurrentVersion,
            ["recipe"] = Recipe,
            ["model"] = Model,
            ["run"] = JsonSerializer.SerializeToNode(Run, Json),
            ["options"] = Options.DeepClone(),
            ["derived"] = Derived.DeepClone(),
            ["spec"] = Spec is null ? null : SpecToJson(Spec),
        };
        if (Inputs.Count > 0) json["inputs"] = Inputs.DeepClone();
        return json;
    }

    public override string ToString() => ToJson().ToJsonString(Json);

    /// <summary>The recipe's options as <typeparamref name="T"/> (PretrainOptions, FineTuneOptions or LinearProbeOptions).</summary>
    public T OptionsAs<T>() where T : class
    {
        var o = Options.DeepClone().AsObject();
        o["run"] = JsonSerializer.SerializeToNode(Run, Json);
        return o.Deserialize<T>(Json) ?? throw new InvalidDataException($"empty {typeof(T).Name}");
    }

    /// <summary>Reads a config.json.</summary>
    public static RunConfig Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"run configuration not found: {Path.GetFullPath(path)}", path);
        IO.FileKinds.RequireRegular(path, "run configuration (config.json)");   // a FIFO would block the read
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not JSON ({e.Message})", e); }
        return Parse(node as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object"), path);
    }

    /// <summary>Reads a configuration (config.json's content, or a checkpoint's); <paramref name="source"/> names it in errors.</summary>
    public static RunConfig Parse(JsonObject json, string source)
    {
        try
        {
            if (json["version"] is { } v)
            {
                int version = v.GetValue<int>();
                if (version != CurrentVersion)
                    throw new InvalidDataException(
                        $"{source}: run configuration version {version}; this build reads version {CurrentVersion} and the older files without a version");
                return FromCurrent(json, source, CurrentVersion);
            }
            if (json.ContainsKey("Seed") && json.ContainsKey("BatchSize")) return FromCurrent(FromClassifierV1(json, source), source, 1);
            if (json.ContainsKey("seed") && json.ContainsKey("batch_size")) return FromCurrent(FromPretrainV1(json), source, 1);
            throw new InvalidDataException($"{source}: not a MaeDsl run configuration (no \"version\", nor the keys of an older one: seed, batch_size)");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException)
        {
            throw new InvalidDataException($"{source}: unreadable run configuration ({e.Message})", e);
        }
    }

    static RunConfig FromCurrent(JsonObject json, string source, int version)
    {
        string recipe = json["recipe"]?.GetValue<string>() ?? throw new InvalidDataException($"{source}: the run configuration lacks \"recipe\"");
        var run = (json["run"] as JsonObject)?.Deserialize<RunOptions>(Json) ?? throw new InvalidDataException(
            $"{source}: the run configuration lacks \"run\"");
        return new RunConfig
        {
            Recipe = recipe,
            Model = json["model"]?.GetValue<string>(),
            Run = run,
            Options = (json["options"] as JsonObject)?.DeepClone().AsObject() ?? new JsonObject(),
            Derived = (json["derived"] as JsonObject)?.DeepClone().AsObject() ?? new JsonObject(),
            Spec = json["spec"] is JsonObject spec ? SpecFromJson(spec) : null,
            Inputs = (json["inputs"] as JsonObject)?.DeepClone().AsObject() ?? new JsonObject(),
            Version = version,
        };
    }

    // ---- the layouts written before the single training loop (version 1) ----

    static readonly string[] RunKeys =
        ["epochs", "batch_size", "accum_iter", "base_lr", "lr", "min_lr", "warmup_epochs", "weight_decay", "clip_grad", "seed",
         "output_dir", "checkpoint_period", "tensor_board", "resume", "threads", "workers"];

    /// <summary>Pre-training's flat snake_case: "lr" held the computed peak lr (the input --lr was never offered), "checkpoint_every_epochs" the
    /// period.</summary>
    static JsonObject FromPretrainV1(JsonObject old)
    {
        var flat = old.DeepClone().AsObject();
        double? peak = flat["lr"]?.GetValue<double>();
        flat.Remove("lr");
        if (flat["checkpoint_every_epochs"] is { } period) { flat.Remove("checkpoint_every_epochs"); flat["checkpoint_period"] = period; }
        var run = Take(flat, RunKeys);
        var derived = Take(flat, ["steps_per_epoch", "effective_batch"]);
        if (peak is { } p)
        {
            derived["absolute_lr"] = p;
            double fromBlr = Optimization.LrSchedule.AbsoluteLr(run["base_lr"]?.GetValue<double>() ?? 0,
                (run["batch_size"]?.GetValue<int>() ?? 0) * (run["accum_iter"]?.GetValue<int>() ?? 1));
            if (Math.Abs(p - fromBlr) > 1e-12 * Math.Max(1, Math.Abs(p))) run["lr"] = p;   // an absolute lr was given
        }
        var result = new JsonObject { ["recipe"] = "pretrain", ["model"] = flat["model"]?.DeepClone(), ["run"] = run, ["derived"] = derived };
        flat.Remove("model");
        if (flat["spec"] is JsonObject spec) { flat.Remove("spec"); result["spec"] = spec; }
        result["options"] = Take(flat, ["beta1", "beta2"]);
        return result;
    }

    /// <summary>The classifiers' PascalCase: the options as given (with computed "AbsoluteLr", "MixupActive"), plus lowercase "runner", "lr" (computed),
    /// "effective_batch", "spec", "train_images", "val_images", "train_seconds".</summary>
    static JsonObject FromClassifierV1(JsonObject old, string source)
    {
        string runner = old["runner"]?.GetValue<string>()
            ?? throw new InvalidDataException($"{source}: a classifier run configuration of the old layout without \"runner\" (finetune or linprobe)");
        var derived = new JsonObject();
        if (old["lr"] is { } lr) derived["absolute_lr"] = lr.DeepClone();
        foreach (var key in new[] { "effective_batch", "train_images", "val_images", "train_seconds" })
            if (old[key] is { } v) derived[key] = v.DeepClone();
        var inputs = new JsonObject();
        foreach (var (key, value) in old)
        {
            if (key.Length == 0 || !char.IsUpper(key[0]) || key is "AbsoluteLr" or "MixupActive") continue;   // computed, or lowercase (handled above)
            inputs[JsonNamingPolicy.SnakeCaseLower.ConvertName(key)] = value?.DeepClone();
        }
        var result = new JsonObject
        {
            ["recipe"] = runner,
            ["model"] = $"{nameof(VitClassifier)}/{runner}",
            ["run"] = Take(inputs, RunKeys),
            ["options"] = inputs,
            ["derived"] = derived,
        };
        if (old["spec"] is JsonObject spec) result["spec"] = spec.DeepClone();
        return result;
    }

    static JsonObject Take(JsonObject from, IEnumerable<string> keys)
    {
        var taken = new JsonObject();
        foreach (var key in keys)
            if (from.TryGetPropertyValue(key, out var value)) { from.Remove(key); taken[key] = value; }
        return taken;
    }

    // ---- the spec: its inputs (the record's constructor parameters) only ----

    static readonly PropertyInfo[] SpecInputs = typeof(MaeSpec).GetConstructors()
        .OrderByDescending(c => c.GetParameters().Length).First().GetParameters()
        .Select(p => typeof(MaeSpec).GetProperty(p.Name!)!).ToArray();

    /// <summary>The spec's enums (the masking strategy) by name ("random", "block", "grid"); the numbers older files hold still read.</summary>
    static readonly JsonSerializerOptions SpecJson = new(Json) { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) } };

    static JsonObject SpecToJson(MaeSpec spec)
    {
        var o = new JsonObject();
        foreach (var p in SpecInputs)
            o[JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)] = JsonSerializer.SerializeToNode(p.GetValue(spec), p.PropertyType, SpecJson);
        return o;
    }

    /// <summary>Reads a spec in snake_case, or in the PascalCase of the files written before (their computed values ignored).</summary>
    static MaeSpec SpecFromJson(JsonObject json)
    {
        var snake = new JsonObject();
        foreach (var (key, value) in json)
            snake[JsonNamingPolicy.SnakeCaseLower.ConvertName(key)] = value?.DeepClone();
        var args = SpecInputs.Select(p =>
        {
            var node = snake[JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)]
                ?? throw new InvalidDataException($"the spec lacks \"{JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name)}\"");
            return node.Deserialize(p.PropertyType, SpecJson);
        }).ToArray();
        return (MaeSpec)Activator.CreateInstance(typeof(MaeSpec), args)!;
    }

    /// <summary>A derived value as a number (e.g. <c>Derived("absolute_lr")</c>), or null.</summary>
    public double? DerivedNumber(string key) => Derived[key] is { } v ? v.GetValue<double>() : null;
}

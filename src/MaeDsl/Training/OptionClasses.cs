// OptionClasses: the one place that says, for every option of a run (the properties of RunOptions, from their declarations,
// PretrainOptions, FineTuneOptions, LinearProbeOptions, the model's spec and the data), whether it changes the trajectory of
// the run (a resume must keep it) or not (threads, output, logging, checkpoint periods); the runner classifies its own.
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MaeDsl.Training;

/// <summary>What changing an option does to a resumed run.</summary>
internal enum OptionClass
{
    /// <summary>Changes the weights the run produces (lr, mask ratio, batch, data, …): a resume must keep it, unless allowed by --allow-change.</summary>
    Trajectory,
    /// <summary>--epochs: raising it trains further (the official way), allowed and recorded; lowering it needs --allow-change epochs.</summary>
    Epochs,
    /// <summary>Changes nothing the run computes (threads, output folder, logging, checkpoint periods, workers).</summary>
    Bookkeeping,
}

/// <summary>An option as the user spells it (without the dashes) and its class.</summary>
internal sealed record OptionRule(string Name, OptionClass Class);

/// <summary>One difference between a checkpoint's configuration and a resumed run's, in the user's terms.</summary>
internal sealed record OptionChange(string Name, OptionClass Class, string Checkpoint, string ThisRun)
{
    public override string ToString() => $"--{Name}: checkpoint {Checkpoint}, this run {ThisRun}";
}

/// <summary>
/// The classification of every option, in one place (a test fails when an option is left out), and the comparison of a
/// checkpoint's configuration with a resumed run's (<see cref="Compare"/>).
/// </summary>
internal static class OptionClasses
{
    const OptionClass T = OptionClass.Trajectory, B = OptionClass.Bookkeeping;

    /// <summary>Every settable property of the options records, by declaring type and name.</summary>
    public static IReadOnlyDictionary<Type, IReadOnlyDictionary<string, OptionRule>> Properties { get; } = new Dictionary<Type, IReadOnlyDictionary<string,
        OptionRule>>
    {
        [typeof(RunOptions)] = RunOptionDeclarations.All.ToDictionary(d => d.Property, d => new OptionRule(d.Name, d.Class)),
        [typeof(PretrainOptions)] = Rules(
            (nameof(PretrainOptions.Run), "run", B),              // a record classified property by property above
            (nameof(PretrainOptions.Beta1), "beta1", T),
            (nameof(PretrainOptions.Beta2), "beta2", T)),
        [typeof(ClassifierOptions)] = Rules(
            (nameof(ClassifierOptions.Run), "run", B),
            (nameof(ClassifierOptions.NumClasses), "num-classes", T),
            (nameof(ClassifierOptions.GlobalPool), "global-pool", T),
            (nameof(ClassifierOptions.MinCropScale), "min-crop-scale", T),
            (nameof(ClassifierOptions.EvalCropPct), "eval-crop-pct", B),   // evaluation only: the weights do not depend on it
            (nameof(ClassifierOptions.EvalPeriod), "eval-every", B)),
        [typeof(FineTuneOptions)] = Rules(
            (nameof(FineTuneOptions.Run), "run", B),
            (nameof(FineTuneOptions.LayerDecay), "layer-decay", T),
            (nameof(FineTuneOptions.DropPath), "drop-path", T),
            (nameof(FineTuneOptions.LabelSmoothing), "smoothing", T),
            (nameof(FineTuneOptions.Mixup), "mixup", T),
            (nameof(FineTuneOptions.Cutmix), "cutmix", T),
            (nameof(FineTuneOptions.MixupProb), "mixup-prob", T),
            (nameof(FineTuneOptions.MixupSwitchProb), "mixup-switch-prob", T),
            (nameof(FineTuneOptions.RandomErasing), "reprob", T),
            (nameof(FineTuneOptions.AutoAugment), "aa", T)),
        [typeof(LinearProbeOptions)] = Rules((nameof(LinearProbeOptions.Run), "run", B)),
    };

    /// <summary>config.json's "inputs" (what the data and the runner add): each key changes the trajectory.</summary>
    public static IReadOnlyDictionary<string, OptionRule> Inputs { get; } = Rules(
        (InputKeys.Dataset, "dataset", T),
        (InputKeys.TrainImages, "train-limit", T),      // the image count: --train-limit, or another dataset
        (InputKeys.ClassNames, "dataset", T),
        (InputKeys.MinCropScale, "min-crop-scale", T));

    /// <summary>The keys of config.json's "inputs" this library and the runner write.</summary>
    public static class InputKeys
    {
        public const string Dataset = "dataset", TrainImages = "train_images", ClassNames = "class_names", MinCropScale = "min_crop_scale";
    }

    /// <summary>The model's spec: the masking ratio is an option of its own, any other difference is another model.</summary>
    public static OptionRule SpecRule(string key) => key == "mask_ratio" ? new("mask-ratio", T) : new("model", T);

    /// <summary>The rule of the option named <paramref name="name"/> (without dashes) among the properties above, or null.</summary>
    public static OptionRule? Named(string name) => Properties.Values.SelectMany(r => r.Values).FirstOrDefault(r => r.Name == name);

    /// <summary>The names --allow-change accepts.</summary>
    public static IReadOnlyList<string> TrajectoryNames { get; } = Properties.Values.SelectMany(r => r.Values).Concat(Inputs.Values)
        .Append(SpecRule("mask_ratio")).Append(SpecRule("other"))
        .Where(r => r.Class != OptionClass.Bookkeeping).Select(r => r.Name).Distinct().Order(StringComparer.Ordinal).ToArray();

    public static bool IsTrajectoryName(string name) => TrajectoryNames.Contains(name);

    public static IEnumerable<string> SplitAllowChange(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => n.TrimStart('-'));

    /// <summary>The rule of <paramref name="property"/> of <paramref name="type"/> or of its nearest base type that declares it.</summary>
    public static OptionRule? Find(Type type, string property)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            if (Properties.TryGetValue(t, out var rules) && rules.TryGetValue(property, out var rule)) return rule;
        return null;
    }

    /// <summary>The properties of <paramref name="type"/> that config.json records (settable, not [JsonIgnore]).</summary>
    public static IEnumerable<PropertyInfo> RecordedProperties(Type type) => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanWrite && p.GetCustomAttribute<JsonIgnoreAttribute>() is null);

    /// <summary>
    /// Every difference between a checkpoint's configuration and this run's, as the user names the options. Keys the
    /// checkpoint does not record (files written by older builds) are not compared, except those of
    /// <see cref="ImpliedByOlderFiles"/>, compared with the value those builds ran with.
    /// </summary>
    public static IReadOnlyList<OptionChange> Compare(RunConfig checkpoint, RunConfig run, Type optionsType)
    {
        var changes = new List<OptionChange>();
        var runSaved = JsonSerializer.SerializeToNode(checkpoint.Run, RunConfig.Json)!.AsObject();
        var runNow = JsonSerializer.SerializeToNode(run.Run, RunConfig.Json)!.AsObject();
        foreach (var p in RecordedProperties(typeof(RunOptions)))
            Add(Find(typeof(RunOptions), p.Name), runSaved, runNow, Key(p.Name));
        foreach (var p in RecordedProperties(optionsType).Where(p => p.Name != "Run"))
            if (checkpoint.Options.ContainsKey(Key(p.Name)))
                Add(Find(optionsType, p.Name), checkpoint.Options, run.Options, Key(p.Name));
            else if (ImpliedByOlderFiles.TryGetValue(Key(p.Name), out var implied))
                Add(Find(optionsType, p.Name), new JsonObject { [Key(p.Name)] = implied }, run.Options, Key(p.Name));
        if (checkpoint.Spec is not null && run.Spec is not null)
        {
            var a = checkpoint.ToJson()["spec"]!.AsObject();
            var b = run.ToJson()["spec"]!.AsObject();
            foreach (var (key, _) in a) Add(SpecRule(key), a, b, key);
        }
        foreach (var (key, _) in checkpoint.Inputs)
            Add(Inputs.TryGetValue(key, out var rule) ? rule : new OptionRule(key.Replace('_', '-'), T), checkpoint.Inputs, run.Inputs, key);
        return changes;

        void Add(OptionRule? rule, JsonObject saved, JsonObject now, string key)
        {
            if (rule is null) throw new InvalidOperationException($"option '{key}' is not classified in {nameof(OptionClasses)}");
            if (rule.Class == OptionClass.Bookkeeping) return;
            string x = Show(saved[key]), y = Show(now[key]);
            if (x == y) return;
            string name = rule.Name;
            if (rule.Name == "model") name = $"model ({key.Replace('_', '-')})";
            changes.Add(new OptionChange(name, rule.Class, x, y));
        }
    }

    /// <summary>Options added after runs were written without them, and what those runs did: a fine-tune before RandAugment had none.</summary>
    public static IReadOnlyDictionary<string, string> ImpliedByOlderFiles { get; } = new Dictionary<string, string> { ["auto_augment"] = "none" };

    static IReadOnlyDictionary<string, OptionRule> Rules(params (string Key, string Name, OptionClass Class)[] rules) =>
        rules.ToDictionary(r => r.Key, r => new OptionRule(r.Name, r.Class));

    static string Key(string property) => JsonNamingPolicy.SnakeCaseLower.ConvertName(property);

    static string Show(JsonNode? node) => node switch
    {
        null => "not set",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };
}

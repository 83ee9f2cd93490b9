// Ablations: the paper's sweeps (masking ratio, decoder depth and width, mask tokens in the encoder, reconstruction
// target, masking strategy, pre-training length) as lists of points, each a model declared with the DSL.

namespace MaeDsl.Experiments;

/// <summary>One point of a sweep: the declared model it pre-trains (with a run-time masking for the ratio and strategy
/// sweeps) and the pre-training epochs (the length sweep's axis).</summary>
/// <param name="Name">The point's folder and CSV name, e.g. <c>ratio-0.75</c> or <c>decoder-depth-8</c>.</param>
/// <param name="X">Where the point sits on the plot's x axis (the value, or the category's index).</param>
/// <param name="Label">The x tick label: <c>0.75</c>, <c>8</c>, <c>block</c>.</param>
internal sealed record AblationPoint(string Name, double X, string Label, MaeModelInfo Model, MaskingOverride? Masking, int Epochs)
{
    /// <summary>The spec the point's model has (the declared one with the run-time masking).</summary>
    public MaeSpec Spec => Model.SpecWith(Masking);
}

/// <summary>A sweep of the paper: its name, the figure or table it reproduces, its axis, and whether fine-tuning is reported.</summary>
/// <param name="Paper">"Fig. 5", "Table 1a", …</param>
/// <param name="Categorical">Whether the axis is a set of named settings (drawn at 0, 1, 2 with their labels).</param>
/// <param name="LogAxis">Whether the axis is drawn on a log₂ scale (depth, width, epochs).</param>
internal sealed record Ablation(string Name, string Paper, string Title, string Axis, bool Categorical, bool LogAxis)
{
    public override string ToString() => Name;
}

/// <summary>
/// The sweeps of the paper's section 4 and how their points are found. A model-shaped point (decoder depth or width, mask
/// tokens in the encoder, the target) is a registered model that differs from the base model in that one setting and no
/// other, so the sweep runs exactly what its declarations say; the ratio, strategy and length points are the base model
/// with a run-time masking or a number of epochs.
/// </summary>
internal static class Ablations
{
    public static readonly Ablation Ratio = new("ratio", "Fig. 5", "masking ratio", "masking ratio", Categorical: false, LogAxis: false);
    public static readonly Ablation DecoderDepth = new("decoder-depth", "Table 1a", "decoder depth", "decoder blocks", false, LogAxis: true);
    public static readonly Ablation DecoderWidth = new("decoder-width", "Table 1b", "decoder width", "decoder width", false, LogAxis: true);
    public static readonly Ablation MaskToken = new("mask-token", "Table 1c", "mask token in the encoder", "encoder input", Categorical: true, false);
    public static readonly Ablation Target = new("target", "Table 1d", "reconstruction target", "target", Categorical: true, false);
    public static readonly Ablation Strategy = new("masking", "Table 1f, Fig. 6", "mask sampling", "mask sampling (ratio 0.75)", Categorical: true, false);
    public static readonly Ablation Length = new("length", "Fig. 7", "pre-training length", "pre-training epochs", false, LogAxis: true);

    public static IReadOnlyList<Ablation> All { get; } = [Ratio, DecoderDepth, DecoderWidth, MaskToken, Target, Strategy, Length];

    public static string Names => string.Join(", ", All.Select(a => a.Name));

    /// <summary>The sweep called <paramref name="name"/>, or an <see cref="ArgumentException"/> listing the sweeps.</summary>
    public static Ablation Find(string name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"no sweep '{name}': choose one of {Names}");

    /// <summary>The values a sweep runs when none are given: the paper's ratio grid, its strategies, and lengths that double.</summary>
    public static IReadOnlyList<string> DefaultValues(Ablation a, int epochs) => a.Name switch
    {
        "ratio" => ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.75", "0.8", "0.9"],
        "masking" => ["random", "block", "grid"],
        "length" => LengthDefaults(epochs),
        _ => [],   // model-shaped sweeps: every declared model that differs in the one setting
    };

    static string[] LengthDefaults(int epochs)
    {
        var values = new List<string>();
        for (int e = Math.Max(1, epochs / 8); e <= epochs; e *= 2) values.Add(e.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string last = epochs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (values[^1] != last) values.Add(last);
        return [.. values];
    }

    /// <summary>
    /// The points of <paramref name="a"/> around <paramref name="baseModel"/>: <paramref name="values"/> (null: the defaults) on
    /// the sweep's axis; model-shaped sweeps take their models from <paramref name="registered"/>. Every point is checked here,
    /// before any work: an impossible one is an <see cref="ArgumentException"/> naming it. A default value the base model cannot
    /// run (grid masking on an odd grid) is left out, with the reason added to <paramref name="notes"/>.
    /// </summary>
    public static IReadOnlyList<AblationPoint> Points(Ablation a, MaeModelInfo baseModel, IEnumerable<MaeModelInfo> registered, int epochs,
        IReadOnlyList<string>? values = null, ICollection<string>? notes = null)
    {
        if (a == Strategy && values is null)
        {
            var grid = MaskingOverride.For(baseModel.Spec, null, MaskingStrategy.Grid);
            try { baseModel.SpecWith(grid); }
            catch (ArgumentException e)
            {
                values = [.. DefaultValues(a, epochs).Where(v => v != "grid")];
                notes?.Add($"grid masking left out: {e.Message}");
            }
        }
        var points = a.Name switch
        {
            "ratio" => RatioPoints(baseModel, epochs, values ?? DefaultValues(a, epochs)),
            "masking" => StrategyPoints(baseModel, epochs, values ?? DefaultValues(a, epochs)),
            "length" => LengthPoints(baseModel, values ?? DefaultValues(a, epochs)),
            "decoder-depth" => ModelPoints(a, baseModel, registered, epochs, values, s => s.DecoderDepth, (s, v) => s with { DecoderDepth = v }),
            "decoder-width" => ModelPoints(a, baseModel, registered, epochs, values, s => s.DecoderWidth, (s, v) => s with { DecoderWidth = v }),
            "mask-token" => TwoModels(a, baseModel, registered, epochs, s => s.MaskTokensInEncoder, (s, v) => s with { MaskTokensInEncoder = v },
                off: "w/o [M]", on: "w/ [M]", onName: "on", offName: "off"),
            "target" => TwoModels(a, baseModel, registered, epochs, s => s.NormalizePixels, (s, v) => s with { NormalizePixels = v },
                off: "pixel", on: "pixel (w/ norm)", onName: "norm-pix", offName: "pix"),
            _ => throw new ArgumentException($"no sweep '{a.Name}': choose one of {Names}"),
        };
        var twice = points.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new ArgumentException($"--points: {twice.Key} is given twice");
        return points;
    }

    static List<AblationPoint> RatioPoints(MaeModelInfo m, int epochs, IReadOnlyList<string> values) =>
        [.. values.Select(v =>
        {
            double ratio = Number(v, "a masking ratio in (0, 1)");
            var masking = MaskingOverride.For(m.Spec, ratio, MaskingStrategy.Random);
            Check(m, masking, $"ratio {v}");
            return new AblationPoint($"ratio-{v}", ratio, v, m, masking, epochs);
        }).OrderBy(p => p.X)];

    static List<AblationPoint> StrategyPoints(MaeModelInfo m, int epochs, IReadOnlyList<string> values) =>
        [.. values.Select(v =>
        {
            if (!Enum.TryParse<MaskingStrategy>(v, ignoreCase: true, out var strategy) || !Enum.IsDefined(strategy) || char.IsDigit(v[0]))
                throw new ArgumentException($"--points: '{v}' is not a mask sampling: choose random, block or grid");
            var masking = MaskingOverride.For(m.Spec, null, strategy);
            Check(m, masking, $"{v} masking");
            string name = strategy.ToString().ToLowerInvariant();
            return new AblationPoint($"masking-{name}", (int)strategy, name, m, masking, epochs);
        }).OrderBy(p => p.X)];

    static List<AblationPoint> LengthPoints(MaeModelInfo m, IReadOnlyList<string> values) =>
        [.. values.Select(v =>
        {
            if (!int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int e) || e < 1)
                throw new ArgumentException($"--points: '{v}' is not a number of pre-training epochs (an integer >= 1)");
            return new AblationPoint($"length-{e}", e, v, m, null, e);
        }).OrderBy(p => p.X)];

    /// <summary>The base model and every registered model equal to it but for <paramref name="get"/>, ordered by that value;
    /// with <paramref name="values"/>, exactly those values, each of which must be declared.</summary>
    static List<AblationPoint> ModelPoints(Ablation a, MaeModelInfo baseModel, IEnumerable<MaeModelInfo> registered, int epochs,
        IReadOnlyList<string>? values, Func<MaeSpec, int> get, Func<MaeSpec, int, MaeSpec> set)
    {
        var models = Variants(baseModel, registered, s => set(s, 0))
            .GroupBy(m => get(m.Spec)).ToDictionary(g => g.Key, g => g.OrderBy(m => m == baseModel ? 0 : 1).First());
        IEnumerable<int> wanted = models.Keys;
        if (values is not null)
            wanted = values.Select(v => int.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)
                && n >= 1
                ? n : throw new ArgumentException($"--points: '{v}' is not a {a.Axis} (an integer >= 1)"));
        var points = new List<AblationPoint>();
        foreach (int v in wanted.Order())
        {
            if (!models.TryGetValue(v, out var model))
                throw new ArgumentException($"--points: no declared model has {a.Axis} {v} and is otherwise {baseModel.ClassName}: declare one " +
                                            $"(a copy of {baseModel.ClassName} with that one value; see docs/ablations.md)");
            points.Add(new AblationPoint($"{a.Name}-{v}", v, v.ToString(System.Globalization.CultureInfo.InvariantCulture), model, null, epochs));
        }
        if (points.Count < 2)
            throw new ArgumentException($"{a.Name}: only {baseModel.ClassName} has its {a.Axis}: declare models that differ from it in that one value " +
                                        "(see docs/ablations.md)");
        return points;
    }

    static List<AblationPoint> TwoModels(Ablation a, MaeModelInfo baseModel, IEnumerable<MaeModelInfo> registered, int epochs,
        Func<MaeSpec, bool> get, Func<MaeSpec, bool, MaeSpec> set, string off, string on, string onName, string offName)
    {
        var models = Variants(baseModel, registered, s => set(s, false)).GroupBy(m => get(m.Spec))
            .ToDictionary(g => g.Key, g => g.OrderBy(m => m == baseModel ? 0 : 1).First());
        if (models.Count < 2)
            throw new ArgumentException($"{a.Name}: no declared model is {baseModel.ClassName} with the {a.Title} {(get(baseModel.Spec) ? off : on)}: " +
                                        "declare one (see docs/ablations.md)");
        return [new AblationPoint($"{a.Name}-{offName}", 0, off, models[false], null, epochs), new AblationPoint($"{a.Name}-{onName}", 1, on, models[true],
            null, epochs)];
    }

    /// <summary>The registered models whose spec equals the base model's once <paramref name="blank"/> has erased the swept setting.</summary>
    static IEnumerable<MaeModelInfo> Variants(MaeModelInfo baseModel, IEnumerable<MaeModelInfo> registered, Func<MaeSpec, MaeSpec> blank)
    {
        var target = blank(baseModel.Spec);
        return registered.Prepend(baseModel).Distinct().Where(m => blank(m.Spec) == target);
    }

    static double Number(string v, string expected) =>
        double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
            ? d : throw new ArgumentException($"--points: '{v}' is not {expected}");

    static void Check(MaeModelInfo m, MaskingOverride? masking, string what)
    {
        try { m.SpecWith(masking); }
        catch (ArgumentException e) { throw new ArgumentException($"--points: {what} cannot be run on {m.ClassName}: {e.Message}"); }
    }
}

// The registry of every MAE model declared with the DSL in the loaded assemblies. The generator emits, for each
// compilation, one module initializer that registers that assembly's models (the presets of this runtime included),
// so a host such as the MaeDsl.Cli runner finds every model by key or class name without a hand-written list.
using System.Reflection;

namespace MaeDsl;

/// <summary>A registered model: its class, its command-line key, its spec and a factory.</summary>
/// <param name="Key">The name the command line uses (<c>[MaeModel(Key = "...")]</c>, or the class name in kebab case).</param>
/// <param name="ClassName">The class name without namespace.</param>
/// <param name="FullName">The fully qualified class name.</param>
/// <param name="Description">One line for help texts (<c>[MaeModel(Description = "...")]</c>, or the class's shape).</param>
/// <param name="Spec">The declared, validated spec.</param>
/// <param name="IsDefault">Marked <c>[MaeModel(Default = true)]</c>: the model a host runs when no command is given.</param>
/// <param name="Assembly">The assembly that declares it.</param>
/// <param name="Factory">Builds the model: a seed (null: random) and an optional run-time masking override.</param>
public sealed record MaeModelInfo(
    string Key,
    string ClassName,
    string FullName,
    string Description,
    MaeSpec Spec,
    bool IsDefault,
    Assembly Assembly,
    Func<long?, MaskingOverride?, MaskedAutoencoder> Factory)
{
    /// <summary>A new model with the official initialisation; <paramref name="masking"/> changes only the masking.</summary>
    public MaskedAutoencoder Create(long? seed = null, MaskingOverride? masking = null) =>
        Native.NoGcDuringTorch.Run(() => Factory(seed, masking));   // the whole construction (modules and their init) is torch work

    /// <summary>The spec a model built with <paramref name="masking"/> has.</summary>
    public MaeSpec SpecWith(MaskingOverride? masking) => masking is null ? Spec : masking.ApplyTo(Spec);
}

/// <summary>
/// A masking chosen at run time (<c>--mask-ratio</c>, as <c>main_pretrain.py</c> allows, or <c>--masking</c>), checked by
/// the same rules as the DSL's <c>[Masking]</c>: MAE004 (ratio in (0, 1) leaving a visible patch) and MAE008 (grid masking).
/// The architecture, and so every generated shape guard, is unchanged: only which patches are removed differs.
/// </summary>
public sealed record MaskingOverride(double? Ratio = null, MaskingStrategy? Strategy = null)
{
    /// <summary>The spec with this masking, or an <see cref="ArgumentException"/> with the DSL's message.</summary>
    public MaeSpec ApplyTo(MaeSpec spec)
    {
        var changed = spec with { MaskRatio = Ratio ?? spec.MaskRatio, Masking = Strategy ?? spec.Masking };
        foreach (var problem in changed.Validate())
            if (!problem.IsWarning && problem.Id is MaeRules.RatioOutOfRange or MaeRules.GridNeedsThreeQuartersAndEvenGrid or MaeRules.NotBuildable)
                throw new ArgumentException($"{(Ratio is not null ? "--mask-ratio" : "--masking")}: {problem.Id}: {problem.Message}");
        return changed;
    }

    /// <summary>Null when neither value is given or both equal the spec's own.</summary>
    public static MaskingOverride? For(MaeSpec spec, double? ratio, MaskingStrategy? strategy) =>
        (ratio is null || ratio == spec.MaskRatio) && (strategy is null || strategy == spec.Masking) ? null : new MaskingOverride(ratio, strategy);
}

/// <summary>Every DSL model of the loaded assemblies, registered by the generated module initializers.</summary>
public static class MaeModels
{
    static readonly object Gate = new();
    static readonly List<MaeModelInfo> Registered = [];

    /// <summary>Called by the generated module initializer of each assembly that declares models.</summary>
    public static void Register(IEnumerable<MaeModelInfo> models)
    {
        lock (Gate)
            foreach (var m in models)
                if (!Registered.Any(r => r.Assembly == m.Assembly && r.FullName == m.FullName))
                    Registered.Add(m);
    }

    /// <summary>
    /// The registered models, in registration order: this runtime's presets first, then the models of every assembly of
    /// the application (<see cref="ModelAssemblies"/>), whether or not the application's code has touched them yet.
    /// </summary>
    public static IReadOnlyList<MaeModelInfo> All
    {
        get
        {
            System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(typeof(MaeModels).Module.ModuleHandle);
            ModelAssemblies.RegisterAll();
            lock (Gate) return Registered.ToArray();
        }
    }

    /// <summary>
    /// The model named <paramref name="nameOrKey"/> (its key or class name, case-insensitive). Unknown: an
    /// <see cref="ArgumentException"/> that lists the choices. Found in two assemblies: an
    /// <see cref="InvalidOperationException"/> that names both.
    /// </summary>
    public static MaeModelInfo Find(string nameOrKey)
    {
        ArgumentNullException.ThrowIfNull(nameOrKey);
        var matches = Matches(nameOrKey);
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new ArgumentException(
                $"MaeModels.Find(\"{nameOrKey}\"): no registered model has this key or class name; registered: {KeyList()}", nameof(nameOrKey)),
            _ => throw new InvalidOperationException($"MaeModels.Find(\"{nameOrKey}\") is ambiguous: {Describe(matches)} match; pass a full class name"),
        };
    }

    /// <summary>
    /// The models <paramref name="nameOrKey"/> names, for a host that words its own errors: those with this key
    /// (case-insensitive), else those with this class name or full class name; empty when none, two or more when it is ambiguous.
    /// </summary>
    public static IReadOnlyList<MaeModelInfo> Matches(string nameOrKey)
    {
        var all = All;
        var matches = all.Where(m => string.Equals(m.Key, nameOrKey, StringComparison.OrdinalIgnoreCase)).ToList();
        if (matches.Count == 0)
            matches = all.Where(m => string.Equals(m.ClassName, nameOrKey, StringComparison.OrdinalIgnoreCase)
                                  || string.Equals(m.FullName, nameOrKey, StringComparison.OrdinalIgnoreCase)).ToList();
        return matches;
    }

    /// <summary>"vit-b16, vit-l16, vit-h14": every registered key, in registration order.</summary>
    public static string KeyList() => string.Join(", ", All.Select(m => m.Key));

    /// <summary>"A (Lib1) and B (Lib2)": models with their assemblies.</summary>
    public static string Describe(IEnumerable<MaeModelInfo> models) =>
        string.Join(" and ", models.Select(m => $"{m.FullName} ({m.Assembly.GetName().Name})"));

    /// <summary>The model a host marked with <c>[MaeModel(Default = true)]</c>; null when none is; an <see cref="InvalidOperationException"/>
    /// naming both when two are.</summary>
    public static MaeModelInfo? Default => DefaultOf(All);

    /// <summary><see cref="Default"/> among <paramref name="models"/>.</summary>
    internal static MaeModelInfo? DefaultOf(IEnumerable<MaeModelInfo> models)
    {
        var marked = DefaultsOf(models);
        if (marked.Count > 1)
            throw new InvalidOperationException($"MaeModels.Default: {Describe(marked)} are each marked [MaeModel(Default = true)]; keep it on one of them");
        return marked.SingleOrDefault();
    }

    /// <summary>The models of <paramref name="models"/> marked <c>[MaeModel(Default = true)]</c>, for a host that words its own errors.</summary>
    internal static IReadOnlyList<MaeModelInfo> DefaultsOf(IEnumerable<MaeModelInfo> models) => models.Where(m => m.IsDefault).ToList();

    /// <summary>
    /// Keys registered by more than one assembly, each with the models that declare it: what the <c>models</c> command of the
    /// runner reports (the analyzer of an assembly that sees both reports them at build time, MAE013).
    /// </summary>
    /// <param name="models">The models to check; null: <see cref="All"/>.</param>
    public static IReadOnlyList<string> Conflicts(IEnumerable<MaeModelInfo>? models = null) =>
        (models ?? All).GroupBy(m => m.Key, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1)
           .Select(g => $"model key '{g.Key}' is declared by {Describe(g)}")
           .ToList();
}

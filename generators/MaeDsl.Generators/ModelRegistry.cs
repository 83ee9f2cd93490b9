using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;

namespace MaeDsl.Generators
{
    /// <summary>
    /// One model's entry in its assembly's registry (<c>MaeDsl.MaeModels</c>), as strings, flags and the spec only,
    /// so that the pipeline can compare it with the previous run's.
    /// </summary>
    /// <param name="Key">The registry key: [MaeModel(Key = ...)] or <see cref="MaeRules.ModelKey"/> of the class name.</param>
    /// <param name="KeyGiven">True when the key comes from [MaeModel(Key = ...)] (MAE013 then blames that argument, else the class).</param>
    /// <param name="ClassName">The class name, as reflection spells it (no @).</param>
    /// <param name="FullName">The name reflection gives the type: "MaeDsl.Presets.MaeVitBase16", "Tests.Nested.Zoo+SmallMae".</param>
    /// <param name="TypeName">The type in C#: "global::MaeDsl.Presets.MaeVitBase16", keywords escaped.</param>
    /// <param name="Description">[MaeModel(Description = ...)], or the spec's shape summary.</param>
    /// <param name="IsDefault">[MaeModel(Default = true)].</param>
    /// <param name="Spec">The declared spec (for the entry's shape comment).</param>
    internal sealed record RegistryEntry(
        string Key,
        bool KeyGiven,
        string ClassName,
        string FullName,
        string TypeName,
        string Description,
        bool IsDefault,
        MaeSpec Spec);

    /// <summary>The entries of one assembly's registry: the models without an MAE013 problem, in declaration order.</summary>
    internal sealed record ModelRegistry(EquatableArray<RegistryEntry> Entries)
    {
        public const string ClassName = "MaeDslModelRegistry";
        public const string Namespace = "MaeDsl.Generated";
        public const string HintName = Namespace + "." + ClassName + ".g.cs";
        /// <summary>The assembly attribute the registry writes per model (its key, read by the analyzer of a referencing assembly).</summary>
        public const string AttributeMetadataName = "MaeDsl.RegisteredMaeModelAttribute";
        public const string AttributeTypeName = "global::" + AttributeMetadataName;

        public static ModelRegistry From(ImmutableArray<RegistryEntry?> candidates)
        {
            var entries = candidates.Where(e => e is not null).Select(e => e!).ToList();
            var broken = new HashSet<int>(RegistryRules.Check(entries).Select(p => p.Index));
            return new ModelRegistry(new EquatableArray<RegistryEntry>(entries.Where((_, i) => !broken.Contains(i))));
        }
    }

    /// <summary>
    /// MAE013, over all the registrable models of one compilation: an invalid key, a key two models share, more than one
    /// default model. The generator leaves the models it blames out of the registry; the analyzer reports them.
    /// </summary>
    internal static class RegistryRules
    {
        /// <summary>Each problem with the index of the entry it blames; a problem between models blames each of them.</summary>
        public static List<(int Index, SpecProblem Problem)> Check(IReadOnlyList<RegistryEntry> entries)
        {
            var problems = new List<(int, SpecProblem)>();
            var valid = new List<int>();
            for (int i = 0; i < entries.Count; i++)
            {
                if (MaeRules.IsValidModelKey(entries[i].Key)) valid.Add(i);
                else problems.Add((i, MaeRules.ModelKeyInvalid(entries[i].ClassName, entries[i].Key, entries[i].KeyGiven)));
            }
            foreach (var sameKey in valid.GroupBy(i => entries[i].Key).Where(g => g.Count() > 1))
                foreach (int i in sameKey)
                    problems.Add((i, MaeRules.ModelKeyTaken(entries[i].ClassName, entries[i].Key, Others(entries, sameKey, i), entries[i].KeyGiven)));
            var defaults = Enumerable.Range(0, entries.Count).Where(i => entries[i].IsDefault).ToList();
            if (defaults.Count > 1)
                foreach (int i in defaults)
                    problems.Add((i, MaeRules.SecondDefaultModel(entries[i].ClassName, Others(entries, defaults, i))));
            return problems;
        }

        /// <summary>"'A'", "'A' and 'B'", "'A', 'B' and 'C'": the full names of the other models of a group.</summary>
        private static string Others(IReadOnlyList<RegistryEntry> entries, IEnumerable<int> group, int self)
        {
            var names = group.Where(i => i != self).Select(i => "'" + entries[i].FullName + "'").ToList();
            return names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " and " + names[names.Count - 1];
        }
    }
}

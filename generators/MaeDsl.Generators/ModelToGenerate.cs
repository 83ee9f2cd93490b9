using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace MaeDsl.Generators
{
    /// <summary>
    /// Everything the emitter needs for one class, as strings and numbers only (no symbol, syntax node,
    /// location or compilation), so that an edit elsewhere leaves an equal model and the output cached.
    /// </summary>
    /// <param name="Namespace">The containing namespace, or null for the global namespace.</param>
    /// <param name="ClassName">The class's name.</param>
    /// <param name="Accessibility">"public", "internal", ... as declared (nested classes may be private).</param>
    /// <param name="ContainingTypes">For a nested class, "partial class Outer" and so on, outermost first.</param>
    /// <param name="Spec">The validated configuration: every number of the generated class follows from it.</param>
    /// <param name="Registration">Its entry in the assembly's model registry; null for a class the registry cannot reach (private or protected nested),
    /// or with <paramref name="Errors"/>.</param>
    /// <param name="Errors">
    /// Null for a valid model. Otherwise the errors the build reports for its attributes ("MAE002", "MAE002, MAE003", "CS0579"): the
    /// generator then writes the same members with placeholder values, each throwing if reached, so that the class's uses compile and
    /// the build shows one diagnostic per mistake.
    /// </param>
    internal sealed record ModelToGenerate(
        string? Namespace,
        string ClassName,
        string Accessibility,
        EquatableArray<string> ContainingTypes,
        MaeSpec Spec,
        RegistryEntry? Registration,
        string? Errors = null)
    {
        /// <summary>
        /// "MaeDsl.Presets.MaeVitBase16.g.cs", "Zoo+SmallMae.g.cs" for a nested class (as metadata names nest
        /// types), so that namespace A.Outer's X and class A.Outer's X get different files.
        /// </summary>
        public string HintName
        {
            get
            {
                var types = ContainingTypes.Select(t => t.Substring(t.LastIndexOf(' ') + 1)).Concat(new[] { ClassName });
                string typeName = string.Join("+", types);
                return ((Namespace is null ? typeName : Namespace + "." + typeName) + ".g.cs").Replace("@", "");
            }
        }

        /// <summary>
        /// The model of a class with MAE attributes; with <see cref="Errors"/> when its attributes have an error (the
        /// placeholder); null when the class cannot take a generated part at all (MAE001), or is not an MAE class.
        /// </summary>
        public static ModelToGenerate? Read(ISymbol? symbol, CancellationToken cancellationToken)
        {
            if (symbol is not INamedTypeSymbol type) return null;
            var attributes = MaeAttributes.Read(type);
            if (attributes is null) return null;
            if (MaeAttributes.CheckDeclaration(type, cancellationToken).Count > 0) return null;
            var spec = attributes.ToSpec();
            string? errors = ErrorsOf(attributes, spec);

            var containing = new List<string>();
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
                containing.Insert(0, $"partial {Keyword(outer)} {SourceEmitter.Identifier(outer.Name)}");
            string? ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString(NamespaceFormat) : null;
            return new ModelToGenerate(ns, type.Name, AccessibilityText(type.DeclaredAccessibility), new EquatableArray<string>(containing), spec,
                errors is null && Registrable(type) ? Entry(type, attributes, spec) : null, errors);
        }

        /// <summary>The ids of the errors the build reports for the attributes (the compiler's for a value or a repeat), or null.</summary>
        private static string? ErrorsOf(MaeAttributes attributes, MaeSpec spec)
        {
            if (attributes.HasBadValue) return "an attribute value the compiler refuses";
            if (attributes.Repeated.Count > 0) return "CS0579";
            if (attributes.MissingCompanion() is { } missing) return missing.Id;
            var ids = spec.Validate().Where(p => !p.IsWarning).Select(p => p.Id).Distinct().OrderBy(id => id, System.StringComparer.Ordinal).ToList();
            return ids.Count == 0 ? null : string.Join(", ", ids);
        }

        /// <summary>The registry entry of a valid model: key and description from [MaeModel], else derived.</summary>
        private static RegistryEntry Entry(INamedTypeSymbol type, MaeAttributes attributes, MaeSpec spec)
        {
            var (key, description, isDefault) = attributes.Registration();
            string fullName = type.Name; // as reflection spells it: metadata names, no @, '+' between nested types
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
                fullName = outer.Name + "+" + fullName;
            for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
                fullName = ns.Name + "." + fullName;
            return new RegistryEntry(key ?? MaeRules.ModelKey(type.Name), key is not null, type.Name, fullName,
                type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), description ?? spec.ShapeSummary(), isDefault, spec);
        }

        /// <summary>
        /// Models the generated registry class can name: the class and every enclosing type visible to the whole
        /// assembly (a private or protected nested class is not registered, and MAE013 does not check it).
        /// </summary>
        private static bool Registrable(INamedTypeSymbol type)
        {
            for (var t = type; t is not null; t = t.ContainingType)
                if (t.DeclaredAccessibility is Microsoft.CodeAnalysis.Accessibility.Private or Microsoft.CodeAnalysis.Accessibility.Protected
                    or Microsoft.CodeAnalysis.Accessibility.ProtectedAndInternal)
                    return false;
            return true;
        }

        /// <summary>"A.B.C", keywords escaped (namespace @class.Models).</summary>
        private static readonly SymbolDisplayFormat NamespaceFormat = new SymbolDisplayFormat(
            typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
            miscellaneousOptions: SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers);

        private static string Keyword(INamedTypeSymbol type) => type switch
        {
            { IsRecord: true, TypeKind: TypeKind.Struct } => "record struct",
            { IsRecord: true } => "record",
            { TypeKind: TypeKind.Struct } => "struct",
            { TypeKind: TypeKind.Interface } => "interface",
            _ => "class",
        };

        private static string AccessibilityText(Accessibility accessibility) => accessibility switch
        {
            Microsoft.CodeAnalysis.Accessibility.Public => "public",
            Microsoft.CodeAnalysis.Accessibility.Protected => "protected",
            Microsoft.CodeAnalysis.Accessibility.Private => "private",
            Microsoft.CodeAnalysis.Accessibility.ProtectedOrInternal => "protected internal",
            Microsoft.CodeAnalysis.Accessibility.ProtectedAndInternal => "private protected",
            _ => "internal",
        };
    }
}

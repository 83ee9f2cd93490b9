using System;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MaeDsl.Generators
{
    /// <summary>
    /// Checks every class that carries an MAE attribute: the declaration (MAE001), the attribute set
    /// (MAE007: [Encoder] and [Decoder] both present) and the numbers (<see cref="MaeSpec.Validate"/>: MAE002–MAE006, MAE008–MAE012). Each
    /// diagnostic points at the attribute argument it blames, or at the attribute when the argument is
    /// absent (a missing Depth), or at the class name when the attribute is absent too. At the end of the
    /// compilation it checks the registry of all valid models together (MAE013: keys and the default model).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class MaeAnalyzer : DiagnosticAnalyzer
    {
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => DiagnosticDescriptors.All;

        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var registered = new ConcurrentBag<(INamedTypeSymbol Type, RegistryEntry Entry)>();
                start.RegisterSymbolAction(symbol =>
                {
                    AnalyzeType(symbol);
                    if (ModelToGenerate.Read(symbol.Symbol, symbol.CancellationToken)?.Registration is { } entry)
                        registered.Add(((INamedTypeSymbol)symbol.Symbol, entry));
                }, SymbolKind.NamedType);
                var referenced = ReferencedModel.Read(start.Compilation);
                start.RegisterCompilationEndAction(end => AnalyzeRegistry(end, registered, referenced));
            });
        }

        /// <summary>
        /// MAE013 over the models the generated registry would hold, each problem at the model it blames; then against the models
        /// of the referenced assemblies (the presets of MaeDsl, a library's): a key or a default taken twice in the application.
        /// </summary>
        private static void AnalyzeRegistry(CompilationAnalysisContext context, ConcurrentBag<(INamedTypeSymbol Type, RegistryEntry Entry)> registered,
            ImmutableArray<ReferencedModel> referenced)
        {
            var models = registered.OrderBy(m => m.Entry.FullName, StringComparer.Ordinal).ToList();
            var problems = RegistryRules.Check(models.Select(m => m.Entry).ToList());
            var blamed = new System.Collections.Generic.HashSet<int>(problems.Select(p => p.Index));
            for (int i = 0; i < models.Count; i++)
            {
                if (blamed.Contains(i)) continue;
                var entry = models[i].Entry;
                var others = referenced.Where(r => r.Key == entry.Key).ToList();
                if (others.Count > 0)
                    problems.Add((i, MaeRules.ModelKeyTakenByReference(entry.ClassName, entry.Key, ReferencedModel.Names(others), entry.KeyGiven)));
                var defaults = referenced.Where(r => r.IsDefault).ToList();
                if (entry.IsDefault && defaults.Count > 0)
                    problems.Add((i, MaeRules.SecondDefaultModel(entry.ClassName, ReferencedModel.Names(defaults) + ", which this assembly references")));
            }
            foreach (var (index, problem) in problems)
            {
                var type = models[index].Type;
                var location = MaeAttributes.Read(type) is { } attributes ? LocationOf(problem, attributes, type,
                    context.CancellationToken) : ClassLocation(type);
                context.ReportDiagnostic(Create(problem, location));
            }

            // between references: nothing of this assembly to blame, so the diagnostic names the assemblies
            foreach (var sameKey in referenced.GroupBy(r => r.Key).Where(g => g.Count() > 1))
                Report(context, MaeRules.ReferencedKeysCollide(sameKey.Key, ReferencedModel.Names(sameKey.ToList())));
            var referencedDefaults = referenced.Where(r => r.IsDefault).ToList();
            if (referencedDefaults.Count > 1)
                Report(context, MaeRules.ReferencedDefaultsCollide(ReferencedModel.Names(referencedDefaults)));
        }

        private static void Report(CompilationAnalysisContext context, SpecProblem problem) =>
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.For(problem.Id), Location.None, problem.MessageArgs));

        private static void AnalyzeType(SymbolAnalysisContext context)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            var attributes = MaeAttributes.Read(type);
            if (attributes is null) return;
            var cancellationToken = context.CancellationToken;

            foreach (var (problem, location) in MaeAttributes.CheckDeclaration(type, cancellationToken))
                Report(context, problem, location);

            // an attribute given twice is the compiler's CS0579 (the attributes allow one use): no second diagnostic for it
            if (attributes.MissingCompanion() is { } missing)
            {
                Report(context, missing, AttributeLocation(attributes.Get(missing.Attribute)!, cancellationToken) ?? ClassLocation(type));
                return; // the numbers of half a model say little: MAE007 first
            }
            if (attributes.HasBadValue) return; // the compiler reports the value that did not bind

            foreach (var problem in attributes.ToSpec().Validate())
                Report(context, problem, LocationOf(problem, attributes, type, cancellationToken));
        }

        /// <summary>The argument a problem blames, else its attribute, else (no attribute, or none named) the class name.</summary>
        private static Location LocationOf(SpecProblem problem, MaeAttributes attributes, INamedTypeSymbol type,
            System.Threading.CancellationToken cancellationToken)
        {
            Location? location = null;
            if (attributes.Get(problem.Attribute) is { } data)
                location = ArgumentLocation(data, problem.Argument, cancellationToken) ?? AttributeLocation(data, cancellationToken);
            return location ?? ClassLocation(type);
        }

        private static void Report(SymbolAnalysisContext context, SpecProblem problem, Location location) =>
            context.ReportDiagnostic(Create(problem, location));

        /// <summary>The diagnostic of a problem, its suggested edits as properties "Fix0", "Fix1", ... for <see cref="MaeCodeFixProvider"/>.</summary>
        internal static Diagnostic Create(SpecProblem problem, Location location)
        {
            var properties = ImmutableDictionary<string, string?>.Empty;
            for (int i = 0; i < problem.Fixes.Length; i++)
                properties = properties.Add(MaeCodeFixProvider.FixProperty + i, problem.Fixes[i]);
            return Diagnostic.Create(DiagnosticDescriptors.For(problem.Id), location, properties, problem.MessageArgs);
        }

        private static Location? AttributeLocation(AttributeData data, System.Threading.CancellationToken cancellationToken) =>
            data.ApplicationSyntaxReference?.GetSyntax(cancellationToken).GetLocation();

        /// <summary>The location of <c>Width = 1000</c> in <c>[Encoder(Depth = 12, Width = 1000)]</c>; null when not written.</summary>
        private static Location? ArgumentLocation(AttributeData data, string argument, System.Threading.CancellationToken cancellationToken)
        {
            if (argument.Length == 0 || data.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax syntax
                || syntax.ArgumentList is null)
                return null;
            Location? found = null;
            foreach (var candidate in syntax.ArgumentList.Arguments)
                if (candidate.NameEquals?.Name.Identifier.ValueText == argument)
                    found = candidate.GetLocation(); // the last assignment wins, as the compiler binds it
            return found;
        }

        private static Location ClassLocation(INamedTypeSymbol type)
        {
            foreach (var reference in type.DeclaringSyntaxReferences)
                if (reference.GetSyntax() is BaseTypeDeclarationSyntax declaration)
                    return declaration.Identifier.GetLocation();
            return type.Locations.Length > 0 ? type.Locations[0] : Location.None;
        }
    }
}

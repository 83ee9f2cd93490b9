using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MaeDsl.Generators
{
    /// <summary>
    /// The MAE attributes found on one class ([MaeModel] included), read without judging them. The generator and the analyzer
    /// both start here, so they agree on what the class asks for: the generator turns a clean set into a
    /// model, the analyzer turns every broken rule into a diagnostic at its argument.
    /// </summary>
    internal sealed class MaeAttributes
    {
        public const string Encoder = "Encoder", Decoder = "Decoder", Image = "Image", Masking = "Masking", Loss = "Loss", Model = "MaeModel";
        public const string EncoderMetadataName = "MaeDsl.EncoderAttribute", DecoderMetadataName = "MaeDsl.DecoderAttribute";

        private readonly Dictionary<string, AttributeData> first = new Dictionary<string, AttributeData>();

        /// <summary>Second and later occurrences of an attribute (the compiler's CS0579).</summary>
        public List<(string Name, AttributeData Data)> Repeated { get; } = new List<(string, AttributeData)>();

        /// <summary>A value that did not bind (a compiler error is reported for it); nothing is generated.</summary>
        public bool HasBadValue { get; private set; }

        public bool Has(string name) => first.ContainsKey(name);

        public AttributeData? Get(string name) => first.TryGetValue(name, out var data) ? data : null;

        /// <summary>The MAE attributes of <paramref name="type"/>, or null when it has none.</summary>
        public static MaeAttributes? Read(INamedTypeSymbol type)
        {
            MaeAttributes? result = null;
            foreach (AttributeData data in type.GetAttributes())
            {
                string? name = NameOf(data.AttributeClass);
                if (name is null) continue;
                result ??= new MaeAttributes();
                if (result.first.ContainsKey(name)) result.Repeated.Add((name, data));
                else result.first.Add(name, data);
                foreach (var argument in data.NamedArguments)
                    if (argument.Value.Kind == TypedConstantKind.Error || (argument.Value.Value is null
                        && argument.Value.Type?.SpecialType != SpecialType.System_String))
                        result.HasBadValue = true; // a null Key or Description is "not given"
                if (data.ConstructorArguments.Length > 0) result.HasBadValue = true;
            }
            return result;
        }

        /// <summary>"Encoder" for MaeDsl.EncoderAttribute, and so on; null for any other attribute.</summary>
        public static string? NameOf(INamedTypeSymbol? attributeClass)
        {
            if (attributeClass is null || attributeClass.TypeKind == TypeKind.Error) return null;
            var ns = attributeClass.ContainingNamespace;
            if (ns is null || ns.Name != "MaeDsl" || ns.ContainingNamespace is not { IsGlobalNamespace: true }) return null;
            switch (attributeClass.Name)
            {
                case "EncoderAttribute": return Encoder;
                case "DecoderAttribute": return Decoder;
                case "ImageAttribute": return Image;
                case "MaskingAttribute": return Masking;
                case "LossAttribute": return Loss;
                case "MaeModelAttribute": return Model;
                default: return null;
            }
        }

        /// <summary>
        /// The configuration the attributes describe, unset values taking the attribute defaults. Encoder
        /// Heads left out resolves to Width / 64 when Width is a multiple of 64, else stays 0 (MAE006).
        /// </summary>
        public MaeSpec ToSpec()
        {
            int encoderWidth = Int(Encoder, "Width", 0);
            return new MaeSpec(
                ImageSize: Int(Image, "Size", MaeSpec.DefaultImageSize),
                PatchSize: Int(Image, "PatchSize", MaeSpec.DefaultPatchSize),
                Channels: Int(Image, "Channels", MaeSpec.DefaultChannels),
                EncoderDepth: Int(Encoder, "Depth", 0),
                EncoderWidth: encoderWidth,
                EncoderHeads: Int(Encoder, "Heads", MaeSpec.DefaultHeads(encoderWidth)),
                EncoderMlpRatio: Double(Encoder, "MlpRatio", MaeSpec.DefaultMlpRatio),
                DropPath: Double(Encoder, "DropPath", 0.0),
                DecoderDepth: Int(Decoder, "Depth", 0),
                DecoderWidth: Int(Decoder, "Width", 0),
                DecoderHeads: Int(Decoder, "Heads", MaeSpec.DefaultDecoderHeads),
                DecoderMlpRatio: Double(Decoder, "MlpRatio", MaeSpec.DefaultMlpRatio),
                MaskRatio: Double(Masking, "Ratio", MaeSpec.DefaultMaskRatio),
                Masking: (MaskingStrategy)Int(Masking, "Strategy", (int)MaskingStrategy.Random),
                MaskTokensInEncoder: Bool(Masking, "MaskTokensInEncoder", false),
                NormalizePixels: Bool(Loss, "NormalizePixels", false));
        }

        private object? Value(string attribute, string argument)
        {
            if (!first.TryGetValue(attribute, out var data)) return null;
            foreach (var named in data.NamedArguments)
                if (named.Key == argument && named.Value.Kind != TypedConstantKind.Error && named.Value.Kind != TypedConstantKind.Array)
                    return named.Value.Value;
            return null;
        }

        private int Int(string attribute, string argument, int fallback) =>
            Value(attribute, argument) switch
            {
                int i => i,
                byte b => b,
                sbyte sb => sb,
                short s => s,
                ushort us => us,
                _ => fallback,
            };

        private double Double(string attribute, string argument, double fallback) =>
            Value(attribute, argument) switch
            {
                double d => d,
                float f => f,
                int i => i,
                long l => l,
                _ => fallback,
            };

        private bool Bool(string attribute, string argument, bool fallback) =>
            Value(attribute, argument) is bool b ? b : fallback;

        /// <summary>[MaeModel]'s values: the key (null: derived from the class name), the description (null: generated) and Default.</summary>
        public (string? Key, string? Description, bool IsDefault) Registration() =>
            (Value(Model, "Key") as string, Value(Model, "Description") as string, Bool(Model, "Default", false));

        /// <summary>
        /// MAE001: what stops the class from taking the generated partial, with the token to blame
        /// (the class's identifier, or the offending modifier).
        /// </summary>
        public static List<(SpecProblem Problem, Location Location)> CheckDeclaration(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            var problems = new List<(SpecProblem, Location)>();
            string name = type.Name;
            var declarations = new List<TypeDeclarationSyntax>();
            foreach (var reference in type.DeclaringSyntaxReferences)
                if (reference.GetSyntax(cancellationToken) is TypeDeclarationSyntax declaration)
                    declarations.Add(declaration);
            if (declarations.Count == 0) return problems;
            Location at = declarations[0].Identifier.GetLocation();
            // edit: the code fix's (MaeCodeFixProvider.AddPartial, RemoveModifier + "static", RemoveBaseClass), null when none is obvious
            void Add(string reason, string fix, Location? location = null, string? edit = null)
            {
                var problem = MaeRules.Declaration(name, reason, fix);
                problems.Add((edit is null ? problem : problem with { Fixes = new[] { edit } }, location ?? at));
            }

            foreach (var declaration in declarations)
            {
                if (!declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    Add("is not partial", $"declare it as 'partial class {name}' so that the generated part can complete it",
                        declaration.Identifier.GetLocation(), MaeCodeFixProvider.AddPartial);
                    break;
                }
            }
            if (type.IsRecord)
                Add("is a record", $"declare it as 'partial class {name}': a record cannot derive from MaskedAutoencoder");
            if (type.TypeParameters.Length > 0)
                Add("is generic", $"declare it as a non-generic 'partial class {name}': the shapes are constants of one class");
            if (type.IsStatic)
                Add("is static", "remove 'static': the model is a module with weights and constructors", edit: MaeCodeFixProvider.RemoveModifier + "static");
            else if (type.IsAbstract)
                Add("is abstract", "remove 'abstract': the generated Create() constructs it", edit: MaeCodeFixProvider.RemoveModifier + "abstract");
            if (type.IsFileLocal)
                Add("is file-local", "remove 'file': the generated part lives in another file", edit: MaeCodeFixProvider.RemoveModifier + "file");
            if (type.BaseType is { TypeKind: not TypeKind.Error } baseType
                && baseType.SpecialType != SpecialType.System_Object
                && !(baseType.Name == "MaskedAutoencoder" && baseType.ContainingNamespace is { Name: "MaeDsl", ContainingNamespace.IsGlobalNamespace: true }))
                Add($"derives from '{baseType.ToDisplayString()}'", "remove the base class: the generated part derives it from MaeDsl.MaskedAutoencoder",
                    edit: MaeCodeFixProvider.RemoveBaseClass);

            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.TypeParameters.Length > 0)
                {
                    Add($"is nested in the generic type '{outer.ToDisplayString()}'", "move it out of the generic type: the shapes are constants of one class");
                    break;
                }
                foreach (var reference in outer.DeclaringSyntaxReferences)
                {
                    if (reference.GetSyntax(cancellationToken) is TypeDeclarationSyntax outerDeclaration
                        && !outerDeclaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                    {
                        Add($"is nested in '{outer.Name}', which is not partial", $"declare '{outer.Name}' partial too, or move '{name}' out of it",
                            edit: MaeCodeFixProvider.AddPartial);
                        break;
                    }
                }
            }
            return problems;
        }

        /// <summary>MAE007 when [Encoder] or [Decoder] is absent, blaming an attribute that is present.</summary>
        public SpecProblem? MissingCompanion()
        {
            if (Has(Encoder) && Has(Decoder)) return null;
            if (Has(Encoder)) return MaeRules.AttributeMissing(Encoder, Decoder);
            if (Has(Decoder)) return MaeRules.AttributeMissing(Decoder, Encoder);
            foreach (string present in new[] { Image, Masking, Loss, Model })
                if (Has(present)) return MaeRules.AttributeMissing(present, Encoder, Decoder);
            return null;
        }
    }
}

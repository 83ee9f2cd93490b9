using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace MaeDsl.Generators
{
    /// <summary>
    /// Turns <c>[Encoder] [Decoder] partial class X;</c> into a strongly typed MAE: the constants of its
    /// shapes, its <see cref="MaeSpec"/>, constructors and the guarded forward/Encode/Patchify/Unpatchify; and
    /// writes one registry per assembly whose module initializer registers every model with <c>MaeDsl.MaeModels</c>.
    /// For a class whose attributes have an error it emits the same members as placeholders that throw (so the build shows that
    /// error alone), nothing for a class that cannot take a generated part (MAE001), and no registry entry for either or for a
    /// model with an MAE013 problem; <see cref="MaeAnalyzer"/> reports those.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class MaeGenerator : IIncrementalGenerator
    {
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            // A valid model has [Encoder] (MAE007), so [Encoder] is the one attribute to follow.
            IncrementalValuesProvider<ModelToGenerate?> models = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    MaeAttributes.EncoderMetadataName,
                    predicate: static (node, _) => node is ClassDeclarationSyntax,
                    transform: static (attributeContext, cancellationToken) => ModelToGenerate.Read(attributeContext.TargetSymbol, cancellationToken))
                .WithTrackingName(TrackingNames.InitialExtraction);

            IncrementalValuesProvider<ModelToGenerate?> buildable = models
                .Where(static model => model is not null)
                .WithTrackingName(TrackingNames.RemovingNulls);

            context.RegisterSourceOutput(buildable, static (output, model) =>
                output.AddSource(model!.HintName, SourceText.From(SourceEmitter.Emit(model), Encoding.UTF8)));

            // [Decoder] without [Encoder] (MAE007): the placeholder only, so that the class's uses compile; never a registry entry.
            IncrementalValuesProvider<ModelToGenerate?> decoderOnly = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    MaeAttributes.DecoderMetadataName,
                    predicate: static (node, _) => node is ClassDeclarationSyntax,
                    transform: static (attributeContext, cancellationToken) =>
                        MaeAttributes.Read((INamedTypeSymbol)attributeContext.TargetSymbol) is { } attributes && !attributes.Has(MaeAttributes.Encoder)
                            ? ModelToGenerate.Read(attributeContext.TargetSymbol, cancellationToken)
                            : null)
                .Where(static model => model is not null);
            context.RegisterSourceOutput(decoderOnly, static (output, model) =>
                output.AddSource(model!.HintName, SourceText.From(SourceEmitter.Emit(model), Encoding.UTF8)));

            // One registry per assembly: every model's entry, those with an MAE013 problem left out. An edit of one
            // model changes its entry only; the collected registry is then re-emitted, every model's own file stays cached.
            IncrementalValueProvider<ModelRegistry> registry = buildable
                .Select(static (model, _) => model!.Registration)
                .WithTrackingName(TrackingNames.RegistryEntries)
                .Collect()
                .Select(static (entries, _) => ModelRegistry.From(entries))
                .WithTrackingName(TrackingNames.Registry);

            context.RegisterSourceOutput(registry, static (output, registry) =>
            {
                if (registry.Entries.Count > 0)
                    output.AddSource(ModelRegistry.HintName, SourceText.From(SourceEmitter.EmitRegistry(registry), Encoding.UTF8));
            });
        }
    }
}

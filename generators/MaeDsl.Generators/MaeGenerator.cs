using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace MaeDsl.Generators
{
    /// <summary>
    /// Turns <c>[Encoder] [Decoder] partial class X;</c> into a strongly typed MAE: the constants of its
    /// shapes, its <see cref="MaeSpec"/>, constructors and the guarded forward/Encode/Patchify/Unpatchify.
    /// It emits nothing for a class with an MAE error; <see cref="MaeAnalyzer"/> reports those.
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
        }
    }
}

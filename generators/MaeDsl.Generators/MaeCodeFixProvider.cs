using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MaeDsl.Generators
{
    /// <summary>
    /// The code fixes of the MAE diagnostics whose message names the answer: one fix per suggested value ("Width 992 or 1008
    /// would be" gives "Set Width = 992" and "Set Width = 1008"), read from the diagnostic's properties "Fix0", "Fix1", ...
    /// ("Encoder.Width=992", set on the class's [Encoder], the argument added when absent), and "add partial" for MAE001.
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MaeCodeFixProvider)), Shared]
    public sealed class MaeCodeFixProvider : CodeFixProvider
    {
        internal const string FixProperty = "Fix";
        internal const string AddPartial = "partial";

        public override ImmutableArray<string> FixableDiagnosticIds { get; } = DiagnosticDescriptors.All.Select(d => d.Id).ToImmutableArray();

        public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

        public override async Task RegisterCodeFixesAsync(CodeFixContext context)
        {
            var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
            if (root is null) return;
            foreach (var diagnostic in context.Diagnostics)
            {
                var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
                var type = node.FirstAncestorOrSelf<TypeDeclarationSyntax>()
                    ?? root.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.FirstAncestorOrSelf<TypeDeclarationSyntax>();
                if (type is null) continue;
                for (int i = 0; diagnostic.Properties.TryGetValue(FixProperty + i, out var fix) && fix is not null; i++)
                {
                    if (fix == AddPartial)
                    {
                        context.RegisterCodeFix(CodeAction.Create("Make it partial",
                            cancel => MakePartial(context.Document, type, cancel), equivalenceKey: diagnostic.Id + AddPartial), diagnostic);
                        continue;
                    }
                    int dot = fix.IndexOf('.'), equals = fix.IndexOf('=');
                    if (dot <= 0 || equals <= dot) continue;
                    string attribute = fix.Substring(0, dot), argument = fix.Substring(dot + 1, equals - dot - 1), value = fix.Substring(equals + 1);
                    if (Attribute(type, attribute) is not { } target) continue;
                    context.RegisterCodeFix(CodeAction.Create($"Set {argument} = {value}",
                        cancel => SetArgument(context.Document, target, argument, value, cancel), equivalenceKey: $"{diagnostic.Id}.{fix}"), diagnostic);
                }
            }
        }

        /// <summary>[Encoder(...)] (or [EncoderAttribute], [MaeDsl.Encoder]) on any declaration of the class.</summary>
        private static AttributeSyntax? Attribute(TypeDeclarationSyntax type, string name) =>
            type.AttributeLists.SelectMany(l => l.Attributes).FirstOrDefault(a =>
            {
                string written = a.Name switch
                {
                    QualifiedNameSyntax q => q.Right.Identifier.ValueText,
                    IdentifierNameSyntax n => n.Identifier.ValueText,
                    _ => "",
                };
                return written == name || written == name + "Attribute";
            });

        private static async Task<Document> SetArgument(Document document, AttributeSyntax attribute, string argument, string value,
            CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null) return document;
            var expression = SyntaxFactory.ParseExpression(value);
            var arguments = attribute.ArgumentList?.Arguments ?? default;
            var existing = arguments.LastOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == argument); // the last assignment is the one bound
            AttributeSyntax changed;
            if (existing is not null)
                changed = attribute.ReplaceNode(existing, existing.WithExpression(expression.WithTriviaFrom(existing.Expression)));
            else
            {
                var added = SyntaxFactory.AttributeArgument(expression).WithNameEquals(SyntaxFactory.NameEquals(SyntaxFactory.IdentifierName(argument)));
                changed = attribute.WithArgumentList((attribute.ArgumentList ?? SyntaxFactory.AttributeArgumentList()).AddArguments(added));
            }
            return document.WithSyntaxRoot(root.ReplaceNode(attribute, changed));
        }

        /// <summary>Adds 'partial' to the class's declarations and to those of its containing types that lack it.</summary>
        private static async Task<Document> MakePartial(Document document, TypeDeclarationSyntax type, CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            if (root is null) return document;
            var targets = new List<TypeDeclarationSyntax>();
            for (SyntaxNode? node = type; node is not null; node = node.Parent)
                if (node is TypeDeclarationSyntax declaration && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                    targets.Add(declaration);
            return document.WithSyntaxRoot(root.ReplaceNodes(targets, (_, declaration) => declaration.Modifiers.Count == 0
                ? declaration.WithKeyword(declaration.Keyword.WithLeadingTrivia())
                    .WithModifiers(SyntaxFactory.TokenList(
                        SyntaxFactory.Token(declaration.Keyword.LeadingTrivia, SyntaxKind.PartialKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space))))
                : declaration.AddModifiers(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space))));
        }
    }
}

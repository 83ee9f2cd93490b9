using System;
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
using Microsoft.CodeAnalysis.Simplification;

namespace MaeDsl.Generators
{
    /// <summary>
    /// The code fixes of the MAE diagnostics whose message names the answer, read from the diagnostic's properties "Fix0", "Fix1", ...
    /// (one fix each, in the message's order): "Encoder.Width=992" sets an argument of the class's attribute (added when not written,
    /// the attribute added when absent: [MaeModel(Key = ...)]); "+Decoder(Depth = 8, Width = 512)" adds attributes (MAE007);
    /// "partial" makes the class and its containing types partial, "-static" removes a modifier and "-base" the base class (MAE001).
    /// A value written "global::MaeDsl.X" is simplified to what the file's usings allow.
    /// </summary>
    [ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MaeCodeFixProvider)), Shared]
    public sealed class MaeCodeFixProvider : CodeFixProvider
    {
        internal const string FixProperty = "Fix";
        internal const string AddPartial = "partial";
        internal const string AddAttributes = "+";
        internal const string RemoveModifier = "-";
        internal const string RemoveBaseClass = "-base";

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
                    string key = $"{diagnostic.Id}.{fix}";
                    Func<CancellationToken, Task<Document>> Change(Func<TypeDeclarationSyntax, SyntaxNode> edit) =>
                        cancel => Replace(context.Document, type, edit, cancel);
                    if (fix == AddPartial)
                        context.RegisterCodeFix(CodeAction.Create("Make it partial", cancel => MakePartial(context.Document, type, cancel), key), diagnostic);
                    else if (fix == RemoveBaseClass && type.BaseList is { Types.Count: > 0 } bases)
                        context.RegisterCodeFix(CodeAction.Create($"Remove the base class '{bases.Types[0]}'", Change(RemoveBase), key), diagnostic);
                    else if (fix.StartsWith(RemoveModifier, StringComparison.Ordinal) && fix != RemoveBaseClass)
                    {
                        string modifier = fix.Substring(RemoveModifier.Length);
                        if (type.Modifiers.Any(m => m.ValueText == modifier))
                            context.RegisterCodeFix(CodeAction.Create($"Remove '{modifier}'", Change(t => WithoutModifier(t, modifier)), key), diagnostic);
                    }
                    else if (fix.StartsWith(AddAttributes, StringComparison.Ordinal))
                    {
                        var added = fix.Substring(AddAttributes.Length).Split('+');
                        var anchor = node.FirstAncestorOrSelf<AttributeListSyntax>();
                        context.RegisterCodeFix(CodeAction.Create("Add " + string.Join(" and ", added.Select(a => $"[{a}]")),
                            Change(t => WithAttributes(t, anchor, added)), key), diagnostic);
                    }
                    else
                    {
                        int dot = fix.IndexOf('.'), equals = fix.IndexOf('=');
                        if (dot <= 0 || equals <= dot) continue;
                        string attribute = fix.Substring(0, dot), argument = fix.Substring(dot + 1, equals - dot - 1), value = fix.Substring(equals + 1);
                        string shown = value.StartsWith("global::MaeDsl.", StringComparison.Ordinal) ? value.Substring("global::MaeDsl.".Length) : value;
                        if (Attribute(type, attribute) is { } target)
                            context.RegisterCodeFix(CodeAction.Create($"Set {argument} = {shown}",
                                cancel => SetArgument(context.Document, target, argument, value, cancel), key), diagnostic);
                        else
                            context.RegisterCodeFix(CodeAction.Create($"Add [{attribute}({argument} = {shown})]",
                                Change(t => WithAttributes(t, null, new[] { $"{attribute}({argument} = {value})" })), key), diagnostic);
                    }
                }
            }
        }

        private static async Task<Document> Replace(Document document, TypeDeclarationSyntax type, Func<TypeDeclarationSyntax, SyntaxNode> edit,
            CancellationToken cancellationToken)
        {
            var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
            return root is null ? document : document.WithSyntaxRoot(root.ReplaceNode(type, edit(type)));
        }

        /// <summary>
        /// <paramref name="type"/> with an attribute list per text of <paramref name="attributes"/>, after <paramref name="anchor"/> (else after its
        /// last list, or first when it has none), each on its own line with the anchor's indentation.
        /// </summary>
        private static TypeDeclarationSyntax WithAttributes(TypeDeclarationSyntax type, AttributeListSyntax? anchor, IEnumerable<string> attributes)
        {
            var lists = type.AttributeLists;
            anchor ??= lists.LastOrDefault();
            int at = anchor is null ? 0 : lists.IndexOf(anchor) + 1;
            var indentation = (anchor?.GetLeadingTrivia() ?? type.GetLeadingTrivia()).Reverse().TakeWhile(t => t.IsKind(SyntaxKind.WhitespaceTrivia));
            var eol = anchor?.GetTrailingTrivia().LastOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia)) is { } e && e.IsKind(SyntaxKind.EndOfLineTrivia)
                ? e : SyntaxFactory.EndOfLine("\n");
            var added = attributes.Select(text => SyntaxFactory.ParseCompilationUnit($"[{text}] class C {{ }}").Members[0].AttributeLists[0]
                .WithLeadingTrivia(indentation).WithTrailingTrivia(eol).WithAdditionalAnnotations(Simplifier.Annotation));
            if (anchor is null)   // a declaration with no attribute list: the lists go before its modifiers, which keep their line
            {
                var leading = type.GetLeadingTrivia();
                var first = added.First().WithLeadingTrivia(leading);
                type = type.WithoutLeadingTrivia().WithLeadingTrivia(indentation);
                return type.WithAttributeLists(lists.InsertRange(0, new[] { first }.Concat(added.Skip(1))));
            }
            return type.WithAttributeLists(lists.InsertRange(at, added));
        }

        private static TypeDeclarationSyntax WithoutModifier(TypeDeclarationSyntax type, string modifier)
        {
            var token = type.Modifiers.First(m => m.ValueText == modifier);
            int index = type.Modifiers.IndexOf(token);
            var modifiers = type.Modifiers.RemoveAt(index);
            if (index < modifiers.Count)   // the next modifier takes the removed one's place (and its leading trivia)
                return type.WithModifiers(modifiers.Replace(modifiers[index], modifiers[index].WithLeadingTrivia(token.LeadingTrivia)));
            if (index > 0) return type.WithModifiers(modifiers);
            return type.WithModifiers(modifiers).WithKeyword(type.Keyword.WithLeadingTrivia(token.LeadingTrivia));
        }

        /// <summary>The class without its base class (the first of its base list; the list goes when nothing else is in it).</summary>
        private static TypeDeclarationSyntax RemoveBase(TypeDeclarationSyntax type)
        {
            var bases = type.BaseList!;
            if (bases.Types.Count > 1) return type.WithBaseList(bases.WithTypes(bases.Types.RemoveAt(0)).WithColonToken(bases.ColonToken));
            // "class M : Other { }" → "class M { }": what followed the base type stays, the colon's leading space goes
            var before = type.ParameterList is { } p ? (SyntaxNode)p : type.TypeParameterList is { } tp ? tp : null;
            var trailing = bases.GetTrailingTrivia();
            var withoutList = type.WithBaseList(null);
            return before is null
                ? withoutList.WithIdentifier(type.Identifier.WithTrailingTrivia(trailing))
                : withoutList.ReplaceNode(withoutList.ChildNodes().First(n => n.IsEquivalentTo(before)), before.WithTrailingTrivia(trailing));
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
            var expression = SyntaxFactory.ParseExpression(value).WithAdditionalAnnotations(Simplifier.Annotation);
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

using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace MaeDsl.Generators
{
    /// <summary>
    /// The MAE diagnostics. Ids and message formats come from <see cref="MaeRules"/> (shared with the
    /// runtime, which throws the same messages); each has a page under docs/diagnostics.
    /// </summary>
    public static class DiagnosticDescriptors
    {
        public const string Category = "MaeDsl";

        /// <summary>
        /// The project's address, Directory.Build.props' RepositoryUrl (the SDK writes it as an assembly metadata attribute): each
        /// diagnostic links to its page there, docs/diagnostics/MAE00N.md (the MaeDsl package carries the same pages).
        /// </summary>
        public static string RepositoryUrl { get; } = typeof(DiagnosticDescriptors).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), inherit: false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryUrl")?.Value?.TrimEnd('/')
            ?? throw new System.InvalidOperationException("MaeDsl.Generators was built without a RepositoryUrl (Directory.Build.props)");

        private static readonly string HelpLinkBase = RepositoryUrl + "/blob/main/docs/diagnostics/";

        public static readonly DiagnosticDescriptor NotPartial = Error(MaeRules.NotPartial,
            "An MAE model must be a non-generic partial class the generator can complete");

        public static readonly DiagnosticDescriptor HeadsDoNotDivideWidth = Error(MaeRules.HeadsDoNotDivideWidth,
            "Width must be divisible by Heads");

        public static readonly DiagnosticDescriptor PatchDoesNotDivideImage = Error(MaeRules.PatchDoesNotDivideImage,
            "Image Size must be divisible by PatchSize");

        public static readonly DiagnosticDescriptor RatioOutOfRange = Error(MaeRules.RatioOutOfRange,
            "Masking Ratio must lie in (0, 1) and leave a visible patch");

        public static readonly DiagnosticDescriptor WidthNotDivisibleBy4 = Error(MaeRules.WidthNotDivisibleBy4,
            "Width must be divisible by 4 for the 2D sin-cos position embedding");

        public static readonly DiagnosticDescriptor MissingOrNotPositive = Error(MaeRules.MissingOrNotPositive,
            "A required or positive value is missing, zero or negative");

        public static readonly DiagnosticDescriptor MissingCompanion = Error(MaeRules.MissingCompanion,
            "[Encoder] and [Decoder] go together");

        public static readonly DiagnosticDescriptor GridNeedsThreeQuartersAndEvenGrid = Error(MaeRules.GridNeedsThreeQuartersAndEvenGrid,
            "Grid masking needs Ratio 0.75 and an even grid");

        public static readonly DiagnosticDescriptor MlpHiddenNotInteger = Error(MaeRules.MlpHiddenNotInteger,
            "Width × MlpRatio must be an integer");

        public static readonly DiagnosticDescriptor RatioOutsidePaperRange = new DiagnosticDescriptor(
            MaeRules.RatioOutsidePaperRange,
            "Masking Ratio lies outside the range where the paper found MAE to work best",
            MaeRules.MessageFormat(MaeRules.RatioOutsidePaperRange),
            Category, DiagnosticSeverity.Warning, isEnabledByDefault: true,
            helpLinkUri: HelpLinkBase + MaeRules.RatioOutsidePaperRange + ".md");

        public static readonly DiagnosticDescriptor DropPathOutOfRange = Error(MaeRules.DropPathOutOfRange,
            "DropPath must lie in [0, 1)");

        public static readonly DiagnosticDescriptor NotBuildable = Error(MaeRules.NotBuildable,
            "The configuration cannot be built");

        /// <summary>Reported once the whole compilation is seen: it compares the models of the assembly, and those of its references.</summary>
        public static readonly DiagnosticDescriptor RegistryConflict = new DiagnosticDescriptor(
            MaeRules.RegistryConflict,
            "Each model needs a valid registry key no other model of the application has, and at most one is the default",
            MaeRules.MessageFormat(MaeRules.RegistryConflict),
            Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            helpLinkUri: HelpLinkBase + MaeRules.RegistryConflict + ".md",
            customTags: WellKnownDiagnosticTags.CompilationEnd);

        /// <summary>Every descriptor, in id order.</summary>
        public static ImmutableArray<DiagnosticDescriptor> All { get; } = ImmutableArray.Create(
            NotPartial, HeadsDoNotDivideWidth, PatchDoesNotDivideImage, RatioOutOfRange, WidthNotDivisibleBy4,
            MissingOrNotPositive, MissingCompanion, GridNeedsThreeQuartersAndEvenGrid, MlpHiddenNotInteger,
            RatioOutsidePaperRange, DropPathOutOfRange, NotBuildable, RegistryConflict);

        private static readonly Dictionary<string, DiagnosticDescriptor> ById = All.ToDictionary(d => d.Id);

        /// <summary>The descriptor of an MAE id (from a <see cref="SpecProblem"/>).</summary>
        internal static DiagnosticDescriptor For(string id) => ById[id];

        private static DiagnosticDescriptor Error(string id, string title) => new DiagnosticDescriptor(
            id, title, MaeRules.MessageFormat(id), Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            helpLinkUri: HelpLinkBase + id + ".md");
    }
}

using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace MaeDsl.Generators
{
    /// <summary>
    /// A model registered by a referenced assembly, read from the <c>[assembly: RegisteredMaeModel(key, fullName, isDefault)]</c>
    /// its generator wrote: what the analyzer compares this compilation's keys with (MAE013 across assemblies).
    /// </summary>
    internal sealed record ReferencedModel(string Key, string FullName, bool IsDefault, string Assembly)
    {
        /// <summary>The registered models of every assembly <paramref name="compilation"/> references, directly or not.</summary>
        public static ImmutableArray<ReferencedModel> Read(Compilation compilation)
        {
            var models = ImmutableArray.CreateBuilder<ReferencedModel>();
            foreach (var assembly in compilation.SourceModule.ReferencedAssemblySymbols)
                foreach (var attribute in assembly.GetAttributes())
                    if (attribute.AttributeClass?.ToDisplayString() == ModelRegistry.AttributeMetadataName
                        && attribute.ConstructorArguments is { Length: 3 } args
                        && args[0].Value is string key && args[1].Value is string fullName && args[2].Value is bool isDefault)
                        models.Add(new ReferencedModel(key, fullName, isDefault, assembly.Identity.Name));
            return models.ToImmutable();
        }

        /// <summary>"'Lib.LibMae' of Models", "'A' of X and 'B' of Y".</summary>
        public static string Names(IReadOnlyList<ReferencedModel> models)
        {
            var names = models.Select(m => $"'{m.FullName}' of {m.Assembly}").ToList();
            return names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " and " + names[names.Count - 1];
        }
    }
}

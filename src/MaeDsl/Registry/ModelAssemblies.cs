// Finds the application's assemblies that declare MAE models and runs their module initializers (the generated
// registrations), so that a model declared in a referenced library, directly or through another, is registered
// before the registry is read, with no code in the host (see docs/dsl.md, "Models in libraries").
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.CompilerServices;

namespace MaeDsl;

/// <summary>
/// The application's model assemblies: those of its trusted platform assemblies (the closure its deps.json lists, or
/// its folder without one) that hold the registry the generator writes, <c>MaeDsl.Generated.MaeDslModelRegistry</c>.
/// Their metadata is read without loading them; only a model assembly is loaded, and its module initializer run.
/// </summary>
internal static class ModelAssemblies
{
    internal const string RegistryNamespace = "MaeDsl.Generated", RegistryClass = "MaeDslModelRegistry";

    static readonly object Gate = new();
    static bool done;

    /// <summary>Loads every model assembly of the application once and runs its registrations.</summary>
    public static void RegisterAll()
    {
        lock (Gate)
        {
            if (done) return;
            done = true;
            foreach (string path in Candidates())
            {
                var name = RegistryAssemblyName(path);
                if (name is null) continue;
                Assembly assembly;
                try { assembly = Assembly.Load(name); }
                catch (Exception e) when (e is FileLoadException or FileNotFoundException or BadImageFormatException)
                {
                    throw new InvalidOperationException($"the MAE models of {path} cannot be loaded: {e.Message}", e);
                }
                RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
            }
        }
    }

    /// <summary>The application's own assemblies: its trusted platform assemblies outside the shared framework, not yet loaded.</summary>
    static IEnumerable<string> Candidates()
    {
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is not string list) yield break; // a single-file app: its assemblies are loaded
        string framework = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? "";
        var loaded = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (string path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (framework.Length > 0 && path.StartsWith(framework, StringComparison.Ordinal)) continue;
            if (loaded.Contains(Path.GetFileNameWithoutExtension(path))) continue; // its module initializer ran as it loaded
            yield return path;
        }
    }

    /// <summary>The name of the assembly at <paramref name="path"/> when it references MaeDsl and holds a generated registry; else null.</summary>
    internal static AssemblyName? RegistryAssemblyName(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata) return null;
            var md = pe.GetMetadataReader();
            if (!md.IsAssembly) return null;
            if (!md.AssemblyReferences.Any(r => md.StringComparer.Equals(md.GetAssemblyReference(r).Name, "MaeDsl"))) return null;
            foreach (var handle in md.TypeDefinitions)
            {
                var type = md.GetTypeDefinition(handle);
                if (md.StringComparer.Equals(type.Name, RegistryClass) && md.StringComparer.Equals(type.Namespace, RegistryNamespace))
                    return md.GetAssemblyDefinition().GetAssemblyName();
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException)
        {
            return null; // not a readable .NET assembly: it declares no model
        }
    }
}

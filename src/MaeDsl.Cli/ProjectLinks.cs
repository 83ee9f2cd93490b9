// Links from help texts to the project's documentation: the RepositoryUrl of Directory.Build.props, which the SDK writes into
// this assembly, so that a package user (who has no docs/ folder) gets an address that resolves.
using System.Reflection;

namespace MaeDsl.Cli;

internal static class ProjectLinks
{
    /// <summary>The project's address, "https://github.com/maedsl/maedsl".</summary>
    public static string RepositoryUrl { get; } = typeof(ProjectLinks).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "RepositoryUrl")?.Value?.TrimEnd('/')
        ?? throw new InvalidOperationException("MaeDsl.Cli was built without a RepositoryUrl (Directory.Build.props)");

    /// <summary>The page docs/<paramref name="page"/> of the repository, as a link.</summary>
    public static string Doc(string page) => $"{RepositoryUrl}/blob/main/docs/{page}";
}

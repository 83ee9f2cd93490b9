// As a NuGet user: MaeDsl, MaeDsl.Cli and MaeDsl.Templates packed into a local folder feed; (1) `dotnet new maedsl`
// from the installed template (private hive) and (2) a hand-written project outside the solution declaring a model
// in no list each pre-train their model from the command line and evaluate the checkpoint.
using System.IO.Compression;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace MaeDsl.Cli.Tests;

/// <summary>The three packages, packed once for the tests of <see cref="PackageTests"/> with a version no other run used.</summary>
public sealed class PackedFeed : IDisposable
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif
    public static readonly string[] Packages = ["MaeDsl", "MaeDsl.Cli", "MaeDsl.Templates"];

    public PackedFeed()
    {
        Version = $"0.1.0-clitest.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        Folder = Processes.TempDirectory("maedsl-cli-feed");
        string repo = Processes.RepositoryRoot();
        foreach (var id in Packages)
        {
            // MaeDsl and MaeDsl.Cli (and the generator) were built in this configuration with this test project: packing
            // them without building leaves their outputs alone while other test assemblies (which load them) run
            string[] noBuild = id == "MaeDsl.Templates" ? [] : ["--no-build"];
            var (exit, output) = Processes.Dotnet(repo, TimeSpan.FromMinutes(8), null,
                ["pack", Path.Combine(repo, "src", id, id + ".csproj"), "-c", Configuration, "-o", Folder, $"-p:PackageVersion={Version}", "-nologo", .. noBuild]);
            PackOutput += output;
            if (exit != 0) throw new InvalidOperationException($"dotnet pack {id} failed:\n{output}");
        }
    }

    public string Version { get; }
    public string Folder { get; }
    public string PackOutput { get; } = "";
    public string PackagePath(string id) => Path.Combine(Folder, $"{id}.{Version}.nupkg");

    /// <summary>A nuget.config in <paramref name="directory"/> that adds the feed to the machine's sources.</summary>
    public void WriteNugetConfig(string directory) => MaeDsl.Tests.Shared.DotnetProcess.WriteLocalFeedConfig(directory, Folder);

    public void Dispose()
    {
        Processes.DeleteQuietly(Folder);
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Packages) Processes.DeleteQuietly(Path.Combine(cache, id.ToLowerInvariant(), Version)); // this run's unique version
    }
}

[Collection(ConsoleCollection.Name)]
public class PackageTests(PackedFeed feed, ITestOutputHelper log) : IClassFixture<PackedFeed>
{
    static readonly TimeSpan Long = TimeSpan.FromMinutes(10);

    [Fact]
    [Trait("Category", "Slow")]
    public void The_packages_hold_the_runner_and_the_template()
    {
        using (var zip = ZipFile.OpenRead(feed.PackagePath("MaeDsl.Cli")))
        {
            Assert.Contains("lib/net10.0/MaeDsl.Cli.dll", zip.Entries.Select(e => e.FullName));
            string nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open()).ReadToEnd();
            Assert.Contains($"<dependency id=\"MaeDsl\" version=\"{feed.Version}\" include=\"All\"", nuspec); // its analyzers reach a host of MaeDsl.Cli
            Assert.Contains("<dependency id=\"System.CommandLine\"", nuspec);
        }
        using (var zip = ZipFile.OpenRead(feed.PackagePath("MaeDsl.Templates")))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToList();
            foreach (var f in new[] { ".template.config/template.json", "MaeProject.csproj", "Program.cs", "Models.cs", "README.md" })
                Assert.Contains($"content/maedsl/{f}", entries);
            string json = new StreamReader(zip.GetEntry("content/maedsl/.template.config/template.json")!.Open()).ReadToEnd();
            Assert.Contains($"\"defaultValue\": \"{feed.Version}\"", json); // the template references the packages it was packed with
        }
        using (var zip = ZipFile.OpenRead(feed.PackagePath("MaeDsl")))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToList();
            foreach (int id in Enumerable.Range(1, 13))
                Assert.Contains($"docs/diagnostics/MAE{id:000}.md", entries); // the pages the diagnostics' help links name
        }

        // each package: a readme, a licence expression, the project's address; and pack no longer warns
        string url = typeof(PackageTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryUrl").Value!;
        foreach (var id in PackedFeed.Packages)
        {
            using var zip = ZipFile.OpenRead(feed.PackagePath(id));
            Assert.Contains("README.md", zip.Entries.Select(e => e.FullName));
            string nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open()).ReadToEnd();
            Assert.Contains("<readme>README.md</readme>", nuspec);
            Assert.Contains("<license type=\"expression\">MIT</license>", nuspec);
            Assert.Contains($"<projectUrl>{url}</projectUrl>", nuspec);
            Assert.Contains($"<repository type=\"git\" url=\"{url}\"", nuspec);
        }
        Assert.DoesNotContain("missing a readme", feed.PackOutput);
        Assert.DoesNotContain("warning", feed.PackOutput);
    }

    /// <summary>
    /// Models in libraries: Base.csproj declares base-mae, Models.csproj (referencing Base) declares lib-mae, and a host with
    /// only the one-line Program.cs references Models and MaeDsl.Cli: the host finds both, by key and by class name, with no
    /// code of its own (a chain of three, the host declaring no model). Then a host model with a library's key fails its build.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void A_host_finds_the_models_of_the_libraries_it_references_directly_or_through_another()
    {
        string work = Processes.TempDirectory("maedsl-libraries");
        try
        {
            string Library(string name, string reference, string model)
            {
                string dir = Path.Combine(work, name);
                Directory.CreateDirectory(dir);
                WriteProject(Path.Combine(dir, name + ".csproj"), exe: false, $"""<PackageReference Include="MaeDsl" Version="{feed.Version}" />{reference}""");
                File.WriteAllText(Path.Combine(dir, "Models.cs"), model);
                return dir;
            }
            const string Shape = "[Encoder(Depth = 2, Width = 32, Heads = 2)]\n[Decoder(Depth = 1, Width = 32, Heads = 2)]\n[Image(Size = 28, PatchSize = 7, Channels = 1)]\n";
            Library("Base", "", "using MaeDsl;\nnamespace Base;\n[MaeModel(Key = \"base-mae\")]\n" + Shape + "public partial class BaseMae;\n");
            Library("Models", "<ProjectReference Include=\"../Base/Base.csproj\" />", "using MaeDsl;\nnamespace Lib;\n[MaeModel(Key = \"lib-mae\")]\n" + Shape + "public partial class LibMae;\n");

            string host = Path.Combine(work, "Host");
            Directory.CreateDirectory(host);
            WriteProject(Path.Combine(host, "Host.csproj"), exe: true,
                $"""<PackageReference Include="MaeDsl.Cli" Version="{feed.Version}" /><ProjectReference Include="../Models/Models.csproj" />""");
            File.WriteAllText(Path.Combine(host, "Program.cs"), "return await MaeDsl.Cli.MaeCli.RunAsync(args);\n");
            feed.WriteNugetConfig(work);
            string app = Build(host, "Host");
            Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(app)!, "Base.dll")));

            string models = Run(host, null, app, "models");
            Assert.Matches(@"(?m)^\s*lib-mae\s+│?\s*LibMae\s.*\sModels\s", models);
            Assert.Matches(@"(?m)^\s*base-mae\s+│?\s*BaseMae\s.*\sBase\s", models);
            Assert.Matches(@"(?m)^\s*vit-b16\s", models);

            foreach (var (name, className) in new[] { ("LibMae", "LibMae"), ("base-mae", "BaseMae") })
                Assert.StartsWith($"{className}: ", Run(host, null, app, "bench", "--model", name, "--iterations", "1", "--batch", "4", "--threads", "1").TrimStart());
            // pretrain --model lib-mae, then evaluate its checkpoint with no --model: the recorded model is found too
            PretrainAndEvaluate(host, "Host", "lib-mae", "LibMae", app);

            // the host's analyzer (it came with MaeDsl.Cli) sees its references' keys: a model of its own with a library's key fails the build
            File.WriteAllText(Path.Combine(host, "Clash.cs"), "using MaeDsl;\n[MaeModel(Key = \"lib-mae\")]\n" + Shape + "public partial class Clash;\n");
            var (exit, output) = Processes.Dotnet(host, Long, null, ["build", "-nologo", "-p:RuntimeIdentifier=linux-x64", "-p:SelfContained=false"]);
            log.WriteLine(output);
            Assert.True(exit != 0, output);
            Assert.Contains("Clash.cs(2,11): error MAE013: Model key 'lib-mae' of 'Clash' is also the key of 'Lib.LibMae' of Models, which this assembly references", output);
            Assert.DoesNotMatch(@"error CS\d{4}", output);
        }
        finally { Processes.DeleteQuietly(work); }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_project_from_the_template_pretrains_and_evaluates_its_model()
    {
        string work = Processes.TempDirectory("maedsl-template");
        try
        {
            // a private CLI home and template hive: nothing is installed on the machine
            var env = new Dictionary<string, string> { ["DOTNET_CLI_HOME"] = Path.Combine(work, "cli-home") };
            string hive = Path.Combine(work, "hive");
            Run(work, env, "new", "install", feed.PackagePath("MaeDsl.Templates"), "--debug:custom-hive", hive);
            Run(work, env, "new", "maedsl", "-n", "SatelliteProject", "-o", "SatelliteProject", "--debug:custom-hive", hive);
            string project = Path.Combine(work, "SatelliteProject");
            Assert.True(File.Exists(Path.Combine(project, "SatelliteProject.csproj")), string.Join("\n", Directory.GetFiles(project)));
            Assert.Contains($"Version=\"{feed.Version}\"", File.ReadAllText(Path.Combine(project, "SatelliteProject.csproj")));
            Assert.Equal("return await MaeDsl.Cli.MaeCli.RunAsync(args);", File.ReadAllLines(Path.Combine(project, "Program.cs")).Last(l => l.Length > 0));
            Assert.Contains("pretrain", File.ReadAllText(Path.Combine(project, "README.md")));

            PretrainAndEvaluate(project, "SatelliteProject", "my-mae", "MyMae");
        }
        finally { Processes.DeleteQuietly(work); }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void A_project_outside_the_solution_declaring_a_model_in_no_list_pretrains_and_evaluates_it()
    {
        string project = Processes.TempDirectory("maedsl-consumer");
        try
        {
            WriteProject(Path.Combine(project, "Consumer.csproj"), exe: true,
                $"""<PackageReference Include="MaeDsl" Version="{feed.Version}" /><PackageReference Include="MaeDsl.Cli" Version="{feed.Version}" />""");
            File.WriteAllText(Path.Combine(project, "Program.cs"), """
                return MaeDsl.Cli.MaeCli.Run(args);

                /// <summary>A user's model: no [MaeModel], so its key is its class name in kebab case.</summary>
                [MaeDsl.Encoder(Depth = 2, Width = 32, Heads = 2)]
                [MaeDsl.Decoder(Depth = 1, Width = 32, Heads = 2)]
                [MaeDsl.Image(Size = 28, PatchSize = 7, Channels = 1)]
                public partial class MySatelliteMae;
                """);
            string app = Build(project, "Consumer");

            // no model is marked default: no command prints the help, which lists the model
            var (helpExit, help) = Processes.Dotnet(project, Long, null, app);
            log.WriteLine(help);
            Assert.True(helpExit == 0, help);
            Assert.Contains("Usage:", help);
            Assert.Contains("my-satellite-mae", help);

            PretrainAndEvaluate(project, "Consumer", "my-satellite-mae", "MySatelliteMae", app);
        }
        finally { Processes.DeleteQuietly(project); }
    }

    /// <summary>A net10.0 project file (an application when <paramref name="exe"/>, else a library) with <paramref name="items"/>, warnings as errors.</summary>
    static void WriteProject(string path, bool exe, string items) => File.WriteAllText(path, $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            {(exe ? "<OutputType>Exe</OutputType>" : "")}
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
          </PropertyGroup>
          <ItemGroup>
            {items}
          </ItemGroup>
        </Project>
        """);

    /// <summary>Builds the project against the feed (one runtime's libtorch only) and returns its dll.</summary>
    string Build(string project, string name)
    {
        feed.WriteNugetConfig(project);
        string output = Path.Combine(project, "out");
        Run(project, null, "build", "-c", "Release", "-p:RuntimeIdentifier=linux-x64", "-p:SelfContained=false", "-o", output, "-nologo");
        return Path.Combine(output, name + ".dll");
    }

    void PretrainAndEvaluate(string project, string name, string key, string className, string? app = null)
    {
        app ??= Build(project, name);
        string run = Path.Combine(project, "runs", "first");
        string pretrain = Run(project, null, app, "pretrain", "--model", key, "--dataset", "fashion-mnist", "--train-limit", "512",
            "--epochs", "1", "--batch", "128", "--threads", "1", "--output", run);
        Assert.Contains($"model: {className} — ", pretrain);
        Assert.Equal($"output: {run}", Processes.LastLineStartingWith(pretrain, "output: "));
        string checkpoint = Path.Combine(run, "checkpoints", "checkpoint-last.ckpt");
        Assert.True(File.Exists(checkpoint), pretrain);

        string evaluate = Run(project, null, app, "evaluate", "--checkpoint", checkpoint, "--eval-limit", "300", "--threads", "1");
        Assert.Contains($"checkpoint: {checkpoint} ({className}, epoch 1, 4 iterations)", evaluate);
        Assert.Matches(@"(?m)^knn_accuracy pretrained=0\.\d{4} random_init=0\.\d{4} raw_pixels=0\.\d{4}\r?$", evaluate);
    }

    string Run(string directory, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var (exit, output) = Processes.Dotnet(directory, Long, env, args);
        log.WriteLine($"$ dotnet {string.Join(' ', args)}\n{output}");
        Assert.True(exit == 0, $"dotnet {string.Join(' ', args)} failed ({exit}):\n{output}");
        return output;
    }
}

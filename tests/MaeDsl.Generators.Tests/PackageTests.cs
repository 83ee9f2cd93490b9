using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// As a NuGet user: <c>dotnet pack</c> src/MaeDsl into a temporary folder feed, then a fresh project
/// outside the repository that references only the MaeDsl package declares a variant, builds (the
/// packed generator runs) and runs a forward pass; the generated registry finds the variant by its key and
/// the package's presets by theirs, and builds the variant with another mask ratio; then a broken variant
/// fails its build with the packed analyzer's MAE diagnostic. TorchSharp comes from the default NuGet sources.
/// </summary>
public class PackageTests(ITestOutputHelper log)
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    [Trait("Category", "Slow")]
    public void Packed_package_builds_and_runs_a_variant_in_a_fresh_project()
    {
        string repo = DiagnosticTests.RepositoryRoot();
        string runtimeProject = Path.Combine(repo, "src", "MaeDsl", "MaeDsl.csproj");
        Assert.True(File.Exists(runtimeProject), $"{runtimeProject} is missing");

        // A version no earlier run used, so that restore cannot pick a stale copy from the global package cache.
        string version = $"0.1.0-pkgtest.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        string feed = ProcessRunner.TempDirectory("maedsl-feed");
        string consumer = ProcessRunner.TempDirectory("maedsl-consumer");
        string cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "maedsl", version);
        try
        {
            // The configuration this test project was built in, so the runtime and generator builds are up to date;
            // PackageVersion (not Version) leaves the assemblies untouched, so nothing is recompiled.
            var (packExit, packOutput) = ProcessRunner.Dotnet(repo, TimeSpan.FromMinutes(6),
                "pack", runtimeProject, "-c", Configuration, "-o", feed, $"-p:PackageVersion={version}", "-nologo");
            log.WriteLine(packOutput);
            Assert.True(packExit == 0, $"dotnet pack failed:\n{packOutput}");

            string package = Path.Combine(feed, $"MaeDsl.{version}.nupkg");
            Assert.True(File.Exists(package), $"dotnet pack did not write {package}:\n{packOutput}");
            using (var zip = ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToList();
                Assert.Contains("analyzers/dotnet/cs/MaeDsl.Generators.dll", entries);
                Assert.Contains("lib/net10.0/MaeDsl.dll", entries);
            }

            MaeDsl.Tests.Shared.DotnetProcess.WriteLocalFeedConfig(consumer, feed);
            File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                    <!-- one runtime's libtorch in bin/ instead of every OS's (~1.2 GB): keeps the test's disk use down -->
                    <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
                    <SelfContained>false</SelfContained>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="MaeDsl" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
                using MaeDsl;
                using static TorchSharp.torch;

                var model = new PackedMae(seed: 1);
                using var images = rand(new long[] { 2, PackedMae.Channels, PackedMae.ImageSize, PackedMae.ImageSize }, generator: new Generator(2));
                using var output = model.forward(images);
                Console.WriteLine(FormattableString.Invariant($"NumPatches {PackedMae.NumPatches} ParameterCount {PackedMae.ParameterCount} pred [{string.Join(", ", output.Pred.shape)}] loss {output.Loss.item<float>():R}"));

                // the registries of this program and of the package, filled by their module initializers
                var packed = MaeModels.Find("packed-mae");
                using var half = packed.Create(seed: 1, new MaskingOverride(0.5));
                using var halfOutput = half.forward(images);
                Console.WriteLine($"registry {packed.FullName} '{packed.Description}' {MaeModels.Find("vit-b16").FullName} keys {string.Join(",", MaeModels.All.Select(m => m.Key).Order())}");
                Console.WriteLine($"override {half.GetType().Name} ratio {half.Spec.MaskRatio} latent [{string.Join(", ", halfOutput.Latent.shape)}]");

                /// <summary>A small variant declared by the package's user.</summary>
                [Encoder(Depth = 1, Width = 32, Heads = 2)]
                [Decoder(Depth = 1, Width = 16, Heads = 2)]
                [Image(Size = 32, PatchSize = 8)]
                public partial class PackedMae;
                """);

            var (runExit, runOutput) = ProcessRunner.Dotnet(consumer, TimeSpan.FromMinutes(8), "run", "-nologo");
            log.WriteLine(runOutput);
            Assert.True(runExit == 0, $"dotnet run of the consumer failed:\n{runOutput}");
            var match = Regex.Match(runOutput, @"NumPatches 16 ParameterCount (\d+) pred \[2, 16, 192\] loss (\S+)");
            Assert.True(match.Success, $"the consumer did not print the expected line:\n{runOutput}");
            float loss = float.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss} should be a positive finite number");
            Assert.Contains("registry PackedMae '32×32×3, patch 8, encoder 1×32, decoder 1×16' MaeDsl.Presets.MaeVitBase16 keys packed-mae,vit-b16,vit-h14,vit-l16", runOutput);
            Assert.Contains("override PackedMae ratio 0.5 latent [2, 9, 32]", runOutput);

            // The package's analyzer runs too: a broken variant fails the build with its MAE diagnostic.
            File.WriteAllText(Path.Combine(consumer, "Broken.cs"), """
                using MaeDsl;

                [Encoder(Depth = 12, Width = 1000, Heads = 16)]
                [Decoder(Depth = 8, Width = 512)]
                public partial class BrokenMae;
                """);
            var (buildExit, buildOutput) = ProcessRunner.Dotnet(consumer, TimeSpan.FromMinutes(4), "build", "-nologo");
            log.WriteLine(buildOutput);
            Assert.True(buildExit != 0, $"the build with a broken variant should fail:\n{buildOutput}");
            Assert.Matches(@"Broken\.cs\(3,22\): error MAE002: Encoder Width 1000 is not divisible by Heads 16; Width 992 or 1008 would be", buildOutput);
        }
        finally
        {
            ProcessRunner.DeleteQuietly(consumer);
            ProcessRunner.DeleteQuietly(feed);
            ProcessRunner.DeleteQuietly(cached); // this run's unique version in the global package cache
        }
    }
}

using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace MaeDsl.Generators.Tests;

/// <summary>
/// A real <c>dotnet build</c> of a throwaway project outside the repository, with eleven classes that each
/// make one mistake (MAE001–MAE010, and MAE013 which the analyzer reports at the end of the compilation), and
/// typical uses of each: a user meets every diagnostic at once, on the class's attribute or class line, one per
/// mistake and no C# error at the uses. The project references only the built MaeDsl.dll, TorchSharp.dll and the
/// generator; the analyzer loads with no warning (no CS9057, no AD0001).
/// </summary>
public class DotnetBuildTests(ITestOutputHelper log)
{
    // Each class: the id it must raise and its source. The line numbers are found in the written file.
    private static readonly (string Id, string Severity, string Source)[] Mistakes =
    {
        ("MAE001", "error", "[Encoder(Depth = 12, Width = 768)]\n[Decoder(Depth = 8, Width = 512)]\npublic class Mae001NotPartial { }"),
        ("MAE002", "error", "[Encoder(Depth = 12, Width = 1000, Heads = 16)]\n[Decoder(Depth = 8, Width = 512)]\npublic partial class Mae002HeadsDoNotDivideWidth;"),
        ("MAE003", "error", "[Encoder(Depth = 12, Width = 768)]\n[Decoder(Depth = 8, Width = 512)]\n[Image(Size = 225)]\npublic partial class Mae003PatchDoesNotTile;"),
        ("MAE004", "error", "[Encoder(Depth = 12, Width = 768)]\n[Decoder(Depth = 8, Width = 512)]\n[Masking(Ratio = 1.5)]\npublic partial class Mae004RatioOutOfRange;"),
        ("MAE005", "error", "[Encoder(Depth = 2, Width = 66, Heads = 3)]\n[Decoder(Depth = 8, Width = 512)]\npublic partial class Mae005WidthNotDivisibleBy4;"),
        ("MAE006", "error", "[Encoder(Width = 768)]\n[Decoder(Depth = 8, Width = 512)]\npublic partial class Mae006MissingDepth;"),
        ("MAE007", "error", "[Encoder(Depth = 12, Width = 768)]\npublic partial class Mae007NoDecoder;"),
        ("MAE008", "error", "[Encoder(Depth = 12, Width = 768)]\n[Decoder(Depth = 8, Width = 512)]\n[Masking(Ratio = 0.5, Strategy = MaskingStrategy.Grid)]\npublic partial class Mae008GridNeedsThreeQuarters;"),
        ("MAE009", "error", "[Encoder(Depth = 2, Width = 64, Heads = 4, MlpRatio = 2.7)]\n[Decoder(Depth = 8, Width = 512)]\npublic partial class Mae009MlpHiddenNotInteger;"),
        ("MAE010", "warning", "[Encoder(Depth = 12, Width = 768)]\n[Decoder(Depth = 8, Width = 512)]\n[Masking(Ratio = 0.9)]\npublic partial class Mae010RatioOutsidePaperRange;"),
        ("MAE013", "error", "[MaeModel(Key = \"Not A Key\")]\n[Encoder(Depth = 12, Width = 768)]\n[Decoder(Depth = 8, Width = 512)]\npublic partial class Mae013InvalidKey;"),
    };

    [Fact]
    [Trait("Category", "Slow")]
    public void Dotnet_build_reports_every_mistake_at_its_class()
    {
        string bin = AppContext.BaseDirectory;
        string[] references = { "MaeDsl.dll", "TorchSharp.dll", "MaeDsl.Generators.dll" };
        foreach (string file in references)
            Assert.True(File.Exists(Path.Combine(bin, file)), $"{Path.Combine(bin, file)} is missing: build tests/MaeDsl.Generators.Tests first");

        string dir = ProcessRunner.TempDirectory("maedsl-build");
        try
        {
            File.WriteAllText(Path.Combine(dir, "Throwaway.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                    <Reference Include="{Path.Combine(bin, "MaeDsl.dll")}" />
                    <Reference Include="{Path.Combine(bin, "TorchSharp.dll")}" />
                    <Analyzer Include="{Path.Combine(bin, "MaeDsl.Generators.dll")}" />
                  </ItemGroup>
                </Project>
                """);
            string source = "using MaeDsl;\n\nnamespace Throwaway;\n\n" + string.Join("\n\n", Mistakes.Select(m => m.Source)) + "\n";
            // typical uses of every class whose mistake is in its attributes (the generator's placeholder keeps them compiling);
            // a class that is not partial cannot take a generated part, so its uses would add errors of their own
            foreach (var (id, _, classSource) in Mistakes.Where(m => m.Id != "MAE001"))
            {
                string name = classSource.Split(' ', ';')[^2];
                File.WriteAllText(Path.Combine(dir, $"Uses{id}.cs"), "namespace Throwaway;\n\n" + DiagnosticTests.TypicalUses.Replace("Uses", $"Uses{id}").Replace("M.", name + ".").Replace("new M(", $"new {name}("));
            }
            File.WriteAllText(Path.Combine(dir, "Models.cs"), source);
            string[] lines = source.Split('\n');

            var (exitCode, output) = ProcessRunner.Dotnet(dir, TimeSpan.FromMinutes(4), "build", "-nologo", "-clp:NoSummary", "-p:TreatWarningsAsErrors=false");
            log.WriteLine(output);
            Assert.True(exitCode != 0, $"the build should fail on the MAE errors:\n{output}");

            var reported = Regex.Matches(output, @"Models\.cs\((\d+),(\d+)\): (error|warning) (MAE\d{3}): (.*?)(?: \[[^\]\r\n]*\.csproj\])?\r?$", RegexOptions.Multiline)
                .Select(m => (Line: int.Parse(m.Groups[1].Value), Severity: m.Groups[3].Value, Id: m.Groups[4].Value, Message: m.Groups[5].Value.Trim()))
                .Distinct()
                .ToList();
            Assert.DoesNotMatch(@"error CS\d{4}", output); // a declaration error (CS0260, CS0101) would have silenced the analyzers
            Assert.DoesNotMatch(@"warning (CS9057|CS8032|AD0001)", output); // the analyzer (its code fixes too) loads in this compiler

            foreach (var (id, severity, classSource) in Mistakes)
            {
                // the lines of this class: its attributes and its declaration
                string[] classLines = classSource.Split('\n');
                int first = Array.FindIndex(lines, l => l == classLines[^1]) - (classLines.Length - 1) + 1; // 1-based
                var allowed = Enumerable.Range(first, classLines.Length).ToHashSet();
                var hits = reported.Where(r => r.Id == id).ToList();
                Assert.True(hits.Count == 1, $"{id}: expected one `Models.cs(line,col): {severity} {id}`, found {hits.Count}:\n{output}");
                Assert.Equal(severity, hits[0].Severity);
                Assert.True(allowed.Contains(hits[0].Line), $"{id} is on line {hits[0].Line}, not on its class's lines {first}-{first + classLines.Length - 1}:\n{output}");
                Assert.NotEmpty(hits[0].Message);
            }
            Assert.Equal(Mistakes.Length, reported.Count); // nothing else
        }
        finally
        {
            ProcessRunner.DeleteQuietly(dir);
        }
    }
}

// The command line in process: model choice (--model, its alias --variant, class names), the one-line errors,
// the help when no model is marked default, the registry the runner sees.
using System.Text.RegularExpressions;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class CliParsingTests
{
    [Fact]
    public void The_registry_holds_the_presets_and_the_quickstart_models_with_tiny_as_default()
    {
        var keys = MaeModels.All.Select(m => m.Key).ToList();
        foreach (var key in new[] { "vit-b16", "vit-l16", "vit-h14", "tiny", "tiny-normpix", "tiny-patch7", "tiny-decoder1" })
            Assert.Contains(key, keys);
        Assert.Equal("MaeFashionTiny", MaeModels.Default?.ClassName);
        Assert.Empty(MaeModels.Conflicts());
    }

    [Theory]
    [InlineData("--variant", "tiny-patch7")]
    [InlineData("--model", "tiny-patch7")]
    [InlineData("--model", "MaeFashionTinyPatch7")]
    [InlineData("--variant", "maefashiontinypatch7")]
    public void A_model_is_chosen_by_key_or_class_name_with_model_or_its_alias_variant(string option, string name)
    {
        var r = CliConsole.Run(["bench", option, name, "--iterations", "1", "--batch", "4", "--threads", "1"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith("MaeFashionTinyPatch7: ", r.OutLines[0]);
    }

    [Fact]
    public void Without_model_a_command_runs_the_default_model()
    {
        var r = CliConsole.Run(["bench", "--iterations", "1", "--batch", "4", "--threads", "1"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith("MaeFashionTiny: 306,576 parameters", r.OutLines[0]);
    }

    [Fact]
    public void An_unknown_model_is_one_error_line_listing_the_choices()
    {
        var r = CliConsole.Run(["pretrain", "--model", "my-satellite-mae", "--threads", "1"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Out);
        var line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: --model 'my-satellite-mae' is not a registered model: choose one of ", line);
        Assert.Contains("tiny-normpix", line);
        Assert.Contains("vit-b16", line);
    }

    [Fact]
    public void Models_lists_every_registered_model_with_its_key_class_and_default()
    {
        var r = CliConsole.Run(["models"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var tiny = Assert.Single(r.OutLines, l => l.StartsWith("tiny ", StringComparison.Ordinal));
        Assert.Matches(@"^tiny\s+│?\s*MaeFashionTiny\s+│?\s*28×28×1\s+│?\s*49 of 4×4\s+│?\s*306,576\s+│?\s*yes\s", tiny);
        foreach (var key in new[] { "tiny-normpix", "tiny-patch7", "tiny-decoder1", "vit-b16", "vit-l16", "vit-h14" })
            Assert.Single(r.OutLines, l => l.StartsWith(key + " ", StringComparison.Ordinal));
    }

    [Fact]
    public void Models_lists_a_key_two_assemblies_share_and_ends_with_one_error_line_naming_both()
    {
        var tiny = MaeModels.Find("tiny");
        MaeModelInfo Copy(string fullName, System.Reflection.Assembly assembly) =>
            tiny with { Key = "lib-mae", ClassName = "LibMae", FullName = fullName, Assembly = assembly, IsDefault = false };
        var r = CliConsole.Capture(() => ModelsCommand.Print([tiny, Copy("First.LibMae", typeof(object).Assembly), Copy("Second.LibMae", typeof(CliParsingTests).Assembly)], showDefault: true));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(2, r.OutLines.Count(l => l.StartsWith("lib-mae ", StringComparison.Ordinal)));
        var line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("error: model key 'lib-mae' is declared by First.LibMae (System.Private.CoreLib) and Second.LibMae (MaeDsl.Cli.Tests): "
            + "--model with such a key is ambiguous; change the key in one of them (MAE013)", line.TrimEnd());
    }

    [Fact]
    public void Two_default_models_are_one_error_line_in_the_runners_words_in_models_and_without_model()
    {
        // a plugin host the analyzer never saw together (MAE013 catches it at build time where it sees both)
        var tiny = MaeModels.Find("tiny");
        var other = tiny with { Key = "lib-mae", ClassName = "LibMae", FullName = "Lib.LibMae", Assembly = typeof(CliParsingTests).Assembly, IsDefault = true };
        var r = CliConsole.Capture(() => ModelsCommand.Print([tiny, other], showDefault: true));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(2, r.OutLines.Count(l => Regex.IsMatch(l, @"\syes\s")));
        var line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        string tinyName = $"{tiny.FullName} ({tiny.Assembly.GetName().Name})";
        Assert.Equal($"error: {tinyName} and Lib.LibMae (MaeDsl.Cli.Tests) are each marked [MaeModel(Default = true)]: "
            + "a command without --model is ambiguous; keep it on one of them (MAE013)", line.TrimEnd());
        var e = Assert.Throws<ArgumentException>(() => CommonOptions.Resolve(null, true, [tiny, other]));
        Assert.Equal($"--model is required: {tinyName} and Lib.LibMae (MaeDsl.Cli.Tests) are each marked [MaeModel(Default = true)]; "
            + "choose one of tiny, lib-mae", e.Message);
    }

    [Fact]
    public void With_no_default_model_and_no_command_it_prints_the_help()
    {
        var r = CliConsole.Run([], MaeCli.CreateRootCommand(useDefault: false));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Usage:", r.Out);
        Assert.Matches(new Regex(@"^\s+pretrain\s", RegexOptions.Multiline), r.Out);
        Assert.Contains("--model, --variant", r.Out);
    }

    [Fact]
    public void With_no_default_model_a_command_without_model_is_one_error_line()
    {
        var r = CliConsole.Run(["pretrain", "--threads", "1"], MaeCli.CreateRootCommand(useDefault: false));
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"^error: --model is required: no model is marked \[MaeModel\(Default = true\)\]; choose one of .*tiny", r.Error.Trim());
    }

    [Theory]
    [InlineData("--mask-ratio", "1.5", "--mask-ratio: MAE004")]
    [InlineData("--threads", "0", "--threads = 0 is invalid")]
    [InlineData("--train-limit", "0", "--train-limit = 0 is invalid: must be >= 1")]
    [InlineData("--epochs", "0", "--epochs = 0 is invalid: must be >= 1")]
    [InlineData("--recipe", "fast", "--recipe = fast is invalid: 'tiny' or 'official'")]
    public void Invalid_values_are_one_error_line(string option, string value, string message)
    {
        var r = CliConsole.Run(["pretrain", option, value, "--output", Path.Combine(Path.GetTempPath(), $"maedsl-never-{Guid.NewGuid():N}")]);
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {message}", line);
        Assert.DoesNotContain("(Parameter", line);
    }

    [Fact]
    public void Every_command_is_offered_and_threads_is_declared_once_per_command()
    {
        var root = MaeCli.CreateRootCommand();
        Assert.Equal(new[] { "pretrain", "evaluate", "bench", "finetune", "linprobe", "results", "ablate", "export-images", "models", "reconstruct", "embed", "predict" }, root.Subcommands.Select(c => c.Name));
        foreach (var command in root.Subcommands.Append(root).Where(c => c.Name is not ("export-images" or "models")))
            Assert.Single(command.Options, o => o.Name == "--threads");
    }
}

// Numbers are culture-invariant (issue 19, class 1): every numeric option of every command parses the same under de-DE,
// tr-TR, fr-FR and the invariant culture; a run under de-DE records and prints what was typed; the runner as a process
// under LANG=de_DE.UTF-8 does the same.
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace MaeDsl.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class LocaleTests
{
    public static TheoryData<string> Cultures => new() { "de-DE", "tr-TR", "fr-FR", "" };

    /// <summary>Sets the current culture for a block (the runner's in-process entry, InvokeAsync, keeps it).</summary>
    sealed class CultureScope : IDisposable
    {
        readonly CultureInfo culture = CultureInfo.CurrentCulture, ui = CultureInfo.CurrentUICulture;

        public CultureScope(string name)
        {
            var c = CultureInfo.GetCultureInfo(name);
            if (name.Length > 0)   // .NET's ICU data, not the OS locales: present unless DOTNET_SYSTEM_GLOBALIZATION_INVARIANT is set
                Assert.True(c.NumberFormat.NumberDecimalSeparator == ",",
                    $"{name} has no ',' decimal separator here: is DOTNET_SYSTEM_GLOBALIZATION_INVARIANT set ({Environment.GetEnvironmentVariable("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT")})?");
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = c;
        }

        public void Dispose() => (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = (culture, ui);
    }

    /// <summary>Every command and its path of names from the root, the root included.</summary>
    static IEnumerable<(string[] Path, Command Command)> Commands(Command command, string[] path)
    {
        yield return (path, command);
        foreach (var sub in command.Subcommands)
            foreach (var c in Commands(sub, [.. path, sub.Name])) yield return c;
    }

    static readonly Type[] Numeric = [typeof(int), typeof(int?), typeof(long), typeof(long?), typeof(double), typeof(double?), typeof(float), typeof(float?)];

    static bool IsWhole(Type t) => (Nullable.GetUnderlyingType(t) ?? t) is var u && (u == typeof(int) || u == typeof(long));

    static object? Value(ParseResult parse, Option option) => option switch
    {
        Option<int> o => parse.GetValue(o), Option<int?> o => parse.GetValue(o), Option<long> o => parse.GetValue(o), Option<long?> o => parse.GetValue(o),
        Option<double> o => parse.GetValue(o), Option<double?> o => parse.GetValue(o), Option<float> o => (double?)parse.GetValue(o),
        Option<float?> o => (double?)parse.GetValue(o),
        _ => throw new InvalidOperationException(option.Name),
    };

    /// <summary>The command line of <paramref name="path"/> with <paramref name="extra"/>, the required options and arguments given a placeholder.</summary>
    static string[] Line(string[] path, Command command, params string[] extra) => [.. path, .. CliConsole.Required(command, "x"), .. extra];

    [Theory]
    [MemberData(nameof(Cultures))]
    public void Every_numeric_option_of_every_command_parses_invariant(string culture)
    {
        using var _ = new CultureScope(culture);
        var root = MaeCli.CreateRootCommand();
        int checkedOptions = 0;
        foreach (var (path, command) in Commands(root, []))
            foreach (var option in command.Options.Where(o => Numeric.Contains(o.ValueType)))
            {
                bool whole = IsWhole(option.ValueType);
                foreach (var (text, expected) in whole ? new[] { ("12", 12.0), ("-3", -3.0) } : [("0.001", 0.001), ("0.5", 0.5), ("1.5e-4", 1.5e-4), ("5", 5.0)])
                {
                    var parse = MaeCli.Parse(root, Line(path, command, option.Name, text));
                    Assert.True(parse.Errors.Count == 0, $"{string.Join(' ', path)} {option.Name} {text}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
                    Assert.Equal(expected, Convert.ToDouble(Value(parse, option), CultureInfo.InvariantCulture), 12);
                }
                // the culture's own spelling is refused, in one message naming the option (never read as another number)
                string local = whole ? "1.000" : "0,5";
                var refused = MaeCli.Parse(root, Line(path, command, option.Name, local));
                var error = Assert.Single(refused.Errors);
                Assert.StartsWith($"{option.Name} '{local}' is not a", error.Message);
                checkedOptions++;
            }
        Assert.True(checkedOptions >= 60, $"only {checkedOptions} numeric options found");
    }

    [Theory]
    [MemberData(nameof(Cultures))]
    public void Pretrain_under_any_culture_records_and_prints_the_numbers_typed(string culture)
    {
        using var dir = new TempDir();
        using var _ = new CultureScope(culture);
        string output = Path.Combine(dir.Path, "run");
        var r = CliConsole.Run(["pretrain", "--model", "tiny", "--train-limit", "128", "--epochs", "2", "--batch", "64", "--blr", "0.001",
            "--warmup-epochs", "0.5", "--mask-ratio", "0.6", "--min-crop-scale", "0.35", "--threads", "1", "--output", output], MaeCli.CreateRootCommand());
        Assert.True(r.ExitCode == 0, r.ToString());
        var run = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
        Assert.Equal(0.001, run["run"]!["base_lr"]!.GetValue<double>());
        Assert.Equal(0.5, run["run"]!["warmup_epochs"]!.GetValue<double>());
        Assert.Equal(0.6, run["spec"]!["mask_ratio"]!.GetValue<double>());
        Assert.Equal(0.35, run["inputs"]!["min_crop_scale"]!.GetValue<double>());
        Assert.Contains("recipe: 2 epochs, batch 64 × accum 1 = 64, blr 0.001 → lr 0.00025, warmup 0.5 epochs, cosine to 0, AdamW (0.9, 0.95), wd 0.05", r.Out);
        Assert.Contains("306,576 trainable parameters", r.Out);   // the runner prints invariant whatever the caller's culture
        Assert.Equal(culture, CultureInfo.CurrentCulture.Name);   // and gives the caller's culture back
    }

    [Theory]
    [MemberData(nameof(Cultures))]
    public void Finetune_under_any_culture_records_the_weight_decay_typed(string culture)
    {
        using var dir = new TempDir();
        using var _ = new CultureScope(culture);
        string output = Path.Combine(dir.Path, "ft");
        var r = CliConsole.Run(["finetune", "--model", "tiny", "--train-limit", "64", "--test-limit", "64", "--epochs", "1", "--batch", "32",
            "--weight-decay", "0.05", "--warmup-epochs", "0.5", "--layer-decay", "0.65", "--threads", "1", "--no-tensorboard", "--output", output],
            MaeCli.CreateRootCommand());
        Assert.True(r.ExitCode == 0, r.ToString());
        var run = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
        Assert.Equal(0.05, run["run"]!["weight_decay"]!.GetValue<double>());
        Assert.Equal(0.5, run["run"]!["warmup_epochs"]!.GetValue<double>());
        Assert.Equal(0.65, run["options"]!["layer_decay"]!.GetValue<double>());
        Assert.Contains("layer decay 0.65", r.Out);
    }

    [Fact]
    public void The_runner_as_a_process_under_LANG_de_DE_reads_and_prints_invariant_numbers()
    {
        string work = Processes.TempDirectory("maedsl-locale");
        try
        {
            string output = Path.Combine(work, "run");
            var env = new Dictionary<string, string> { ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8", ["LC_NUMERIC"] = "de_DE.UTF-8" };
            var (exit, text) = Processes.Dotnet(work, TimeSpan.FromMinutes(10), env, Processes.QuickstartApp.Value, "pretrain", "--train-limit", "128", "--epochs", "1",
                "--batch", "64", "--blr", "0.001", "--warmup-epochs", "0.5", "--threads", "1", "--output", output);
            Assert.True(exit == 0, text);
            Assert.Contains("blr 0.001 → lr 0.00025, warmup 0.5 epochs", text);
            var run = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!;
            Assert.Equal(0.001, run["run"]!["base_lr"]!.GetValue<double>());
            var (refusedExit, refused) = Processes.Dotnet(work, TimeSpan.FromMinutes(2), env, Processes.QuickstartApp.Value, "pretrain", "--blr", "0,001", "--threads", "1");
            Assert.Equal(1, refusedExit);
            Assert.Contains("error: --blr '0,001' is not a number", refused);
        }
        finally { Processes.DeleteQuietly(work); }
    }
}

// ImageProgress: the progress of a pass over images (embed, predict) in the training log's style: a Spectre.Console bar on a
// terminal, plain lines (at most one every two seconds, and the last) when stdout is redirected.
using System.Diagnostics;
using Spectre.Console;

namespace MaeDsl.Cli;

internal static class ImageProgress
{
    /// <summary>Runs <paramref name="body"/>, which reports the images done so far through its argument, with a progress display over <paramref name="total"/>
    /// images.</summary>
    public static void Run(string description, int total, Action<Action<int>> body)
    {
        var clock = Stopwatch.StartNew();
        if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(),
                    new SpinnerColumn())
                .Start(ctx =>
                {
                    var bar = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                    body(done => bar.Value = done);
                    bar.Value = bar.MaxValue;
                });
            return;
        }
        var last = TimeSpan.FromSeconds(-10);
        body(done =>
        {
            if (clock.Elapsed - last < TimeSpan.FromSeconds(2) && done < total) return;
            last = clock.Elapsed;
            double perSecond = done / Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
            Console.WriteLine(FormattableString.Invariant(
                $"{description} {done}/{total} images ({100.0 * done / Math.Max(total, 1):F0}%, {perSecond:F0} images/s)"));
        });
    }
}

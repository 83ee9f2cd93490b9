// TrainingLog: a run's metrics.csv, TensorBoard events and console progress.
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using MaeDsl.IO;
using TorchSharp;

namespace MaeDsl.Training.Loop;

/// <summary>One data iteration of a run, as the CSV stores it.</summary>
/// <param name="Step">0-based data iteration over the whole run: epoch × steps per epoch + step in the epoch.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="EpochFraction">The fractional epoch the lr schedule was evaluated at (official x-axis).</param>
/// <param name="Loss">The loss of this iteration's batch (before division by accum_iter).</param>
/// <param name="Lr">The lr in force at this iteration.</param>
/// <param name="ImagesPerSecond">Throughput over this iteration.</param>
/// <param name="ElapsedSeconds">Wall time since the run (or its resumption) started.</param>
public sealed record StepMetrics(long Step, int Epoch, double EpochFraction, float Loss, double Lr, double ImagesPerSecond, double ElapsedSeconds);

/// <summary>
/// A run's logs: a CSV of per-step metrics (<c>metrics.csv</c>), TensorBoard event files (<c>tensorboard/</c>,
/// train_loss and lr against epoch_1000x as engine_pretrain.py logs them), and progress on the console:
/// a Spectre.Console bar (epoch, step, loss, lr, images/s, ETA) on a terminal, plain lines when stdout is
/// redirected. On resume, the CSV keeps the rows before the resumed step and drops the rest.
/// </summary>
internal sealed class TrainingLog : IDisposable
{
    public const string CsvFileName = "metrics.csv";
    public const string CsvHeader = "step,epoch,epoch_fraction,loss,lr,images_per_s,elapsed_s";

    readonly string csvPath;
    readonly StreamWriter csv;
    readonly TorchSharp.Modules.SummaryWriter? tensorboard;
    readonly List<StepMetrics> history = new();
    readonly bool interactive;
    readonly TextWriter plain;
    readonly Stopwatch sinceLastLine = Stopwatch.StartNew();
    ProgressTask? bar;
    long totalSteps;
    long firstStep;
    readonly Stopwatch clock = new();

    /// <param name="directory">The run's output folder; created if missing.</param>
    /// <param name="resumeAtStep">Keep only CSV rows with step &lt; this (0 for a new run: the CSV starts empty).</param>
    /// <param name="tensorboard">Write TensorBoard events under <c>directory/tensorboard</c>.</param>
    /// <param name="console">Where plain lines go (default stdout); a bar is drawn only on an interactive stdout.</param>
    /// <param name="plainLineInterval">Minimum time between two plain progress lines.</param>
    public TrainingLog(string directory, long resumeAtStep = 0, bool tensorboard = true, TextWriter? console = null, TimeSpan? plainLineInterval = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        RunDirectory = Path.GetFullPath(directory);
        csvPath = Path.Combine(RunDirectory, CsvFileName);
        AtomicFile.CleanOrphans(RunDirectory);   // a crash's temporary files in the run folder go when the run (or its resume) starts
        string? repaired = null;
        if (resumeAtStep > 0 && File.Exists(csvPath))
        {
            // Rows past the checkpoint are dropped, and so is a row torn by a crash (kill -9, power loss): never fatal.
            var rows = ReadCsv(csvPath, out var torn);
            history.AddRange(rows.Where(m => m.Step < resumeAtStep));
            int dropped = rows.Count - history.Count + (torn is null ? 0 : 1);
            if (dropped > 0)
                repaired = $"{csvPath}: dropped {dropped} row(s) past the checkpoint's step {resumeAtStep}" + (torn is null ? ""
                    : $", including a torn last row ('{torn}')");
        }
        // Rewrite the kept rows atomically so that a crash here never loses the old log.
        AtomicFile.Write(csvPath, stream =>
        {
            using var w = new StreamWriter(stream, leaveOpen: true);
            w.WriteLine(CsvHeader);
            foreach (var m in history) w.WriteLine(Format(m));
        });
        _ = AtomicFile.FileSizeSignalHandled;   // a file-size limit fails the append with a message instead of killing the run
        csv = new StreamWriter(new FileStream(csvPath, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = false };
        if (tensorboard)
            this.tensorboard = torch.utils.tensorboard.SummaryWriter(Path.Combine(RunDirectory, "tensorboard"));
        plain = console ?? Console.Out;
        if (repaired is not null) { plain.WriteLine(repaired); plain.Flush(); }
        interactive = console is null && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        PlainLineInterval = plainLineInterval ?? TimeSpan.FromSeconds(10);
    }

    /// <summary>The run's output folder (absolute).</summary>
    public string RunDirectory { get; }
    /// <summary>Every step logged so far, including the ones kept from before a resume.</summary>
    public IReadOnlyList<StepMetrics> History => history;
    public TimeSpan PlainLineInterval { get; }
    /// <summary>Whether progress is drawn as a Spectre.Console bar (stdout is a terminal) or written as plain lines.</summary>
    public bool Interactive => interactive;

    /// <summary>Runs the training body with a progress display over the steps [firstStep, totalSteps), labelled <paramref name="description"/>.</summary>
    public T Run<T>(long firstStep, long totalSteps, Func<T> body, string description = "pre-training")
    {
        this.firstStep = firstStep;
        this.totalSteps = totalSteps;
        clock.Restart();
        if (!interactive) return body();
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                bar = ctx.AddTask(Markup.Escape(description), maxValue: totalSteps);
                bar.Value = firstStep;
                result = body();
                bar.Value = totalSteps;
            });
        bar = null;
        return result;
    }

    /// <summary>Records one data iteration: CSV row, progress; TensorBoard when <paramref name="optimizerStep"/> (as the official loop does).</summary>
    public void Step(StepMetrics m, int epochs, int stepsPerEpoch, bool optimizerStep)
    {
        history.Add(m);
        try
        {
            csv.WriteLine(Format(m));
            csv.Flush();   // every row reaches the OS at once: a crash (kill -9) loses at most the row being written
        }
        catch (Exception e) when (AtomicFile.IsWriteFailure(e))
        {
            throw new IOException($"{csvPath}: could not append the row of step {m.Step} ({AtomicFile.WriteFailureText(e)}); the rows before it are kept.", e);
        }
        if (optimizerStep && tensorboard is not null)
        {
            int epoch1000x = (int)(m.EpochFraction * 1000);
            tensorboard.add_scalar("train_loss", m.Loss, epoch1000x);
            tensorboard.add_scalar("lr", (float)m.Lr, epoch1000x);
        }
        string line = Describe(m, epochs, stepsPerEpoch);
        if (bar is not null)
        {
            bar.Description = Markup.Escape(line);
            bar.Value = m.Step + 1;
        }
        else if (sinceLastLine.Elapsed >= PlainLineInterval || m.Step + 1 == totalSteps || m.Step == firstStep)
        {
            plain.WriteLine(line);
            plain.Flush();
            sinceLastLine.Restart();
        }
    }

    /// <summary>A message outside the progress display (e.g. "checkpoint written").</summary>
    public void Message(string text)
    {
        if (bar is not null) AnsiConsole.MarkupLine(Markup.Escape(text));
        else { plain.WriteLine(text); plain.Flush(); }
    }

    /// <summary>Flushes the CSV (called at checkpoints so that the log on disk matches the checkpoint).</summary>
    public void Flush() => csv.Flush();

    string Describe(StepMetrics m, int epochs, int stepsPerEpoch)
    {
        double done = m.Step + 1 - firstStep;
        double remaining = totalSteps - (m.Step + 1);
        var eta = done > 0 ? TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / done * remaining) : TimeSpan.Zero;
        long stepInEpoch = m.Step - (long)m.Epoch * stepsPerEpoch;
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {m.Epoch + 1}/{epochs} step {stepInEpoch + 1}/{stepsPerEpoch} loss {m.Loss:F4} lr {m.Lr:E2} {m.ImagesPerSecond:F0} img/s ETA " +
                $"{Duration(eta)}");
    }

    /// <summary>A duration as the progress line shows it: 09:51:26, or 4d 09:51:26 beyond a day.</summary>
    public static string Duration(TimeSpan t) => t.TotalDays >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(long)t.TotalDays}d {t:hh\\:mm\\:ss}")
        : t.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);

    static string Format(StepMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"{m.Step},{m.Epoch},{m.EpochFraction:R},{m.Loss:R},{m.Lr:R},{m.ImagesPerSecond:F2},{m.ElapsedSeconds:F3}");

    /// <summary>Reads a metrics CSV written by this class; a torn last row (a crash while it was written) is an error.</summary>
    /// <exception cref="InvalidDataException">The file is not a metrics CSV or a row is damaged; the message names the file and line.</exception>
    public static List<StepMetrics> ReadCsv(string path)
    {
        var rows = ReadCsv(path, out var torn);
        if (torn is not null)
            throw new InvalidDataException(
                $"{path}: the last row '{torn}' is torn (the run was interrupted while writing it); expected {CsvHeader.Split(',').Length} numeric fields");
        return rows;
    }

    /// <summary>
    /// Reads a metrics CSV written by this class. The last line, when it cannot be parsed or lacks its line end (a crash
    /// cut it), is dropped and returned in <paramref name="tornTail"/>; a damaged row before it is an error.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a metrics CSV or a row other than the last is damaged.</exception>
    public static List<StepMetrics> ReadCsv(string path, out string? tornTail)
    {
        var c = CultureInfo.InvariantCulture;
        return CsvLines.ReadRows(path, CsvHeader, "a metrics CSV", f =>
            long.TryParse(f[0], NumberStyles.Integer, c, out long step) && int.TryParse(f[1], NumberStyles.Integer, c, out int epoch)
            && double.TryParse(f[2], NumberStyles.Float, c, out double fraction) && float.TryParse(f[3], NumberStyles.Float, c, out float loss)
            && double.TryParse(f[4], NumberStyles.Float, c, out double lr) && double.TryParse(f[5], NumberStyles.Float, c, out double ips)
            && double.TryParse(f[6], NumberStyles.Float, c, out double elapsed)
                ? new StepMetrics(step, epoch, fraction, loss, lr, ips, elapsed) : null, out tornTail);
    }

    public void Dispose()
    {
        try { csv.Dispose(); }
        catch (Exception e) when (AtomicFile.IsWriteFailure(e)) { /* a row that could not be written was already reported by Step */ }
    }
}

// OneLineErrors: what reconstruct, embed and predict run their body through, so that an error is one `error:` line even when
// it comes from a loader thread (an AggregateException) or carries a multi-line message (ImageSharp lists its decoders), and a
// stop of embed or predict says what it left (nothing: they write their output only once every image is done).
using System.Runtime.ExceptionServices;
using System.Text.RegularExpressions;

namespace MaeDsl.Cli;

internal static class OneLineErrors
{
    /// <summary><see cref="Run.Guarded"/> over <paramref name="body"/>, with loader-thread errors unwrapped and messages on one line.</summary>
    public static int Guarded(Func<int> body) => Run.Guarded(() =>
    {
        try { return body(); }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.Count == 1)
        {
            var inner = e.Flatten().InnerExceptions[0];
            ExceptionDispatchInfo.Throw(OneLine(inner));
            throw;
        }
        catch (InvalidDataException e) when (e.Message.Contains('\n')) { throw OneLine(e); }
    });

    /// <summary>On a worker thread; a signal exits at once (<see cref="StopSignals"/>), a cancelled caller token stops it with one line.</summary>
    public static Task<int> GuardedAsync(Func<int> body) => Task.Run(() => Guarded(Stoppable(body, "stopped: nothing written")));

    /// <summary>
    /// On a worker thread, for a command that stops between batches on Ctrl-C/SIGTERM or a cancelled token and writes nothing then:
    /// <paramref name="unwritten"/> names what it did not write (it writes its output only once every image is done).
    /// </summary>
    public static Task<int> GuardedAsync(Func<int> body, string command, Func<string> unwritten) => Task.Run(() =>
    {
        StopSignals.Says = new StopSignals.Wording($"stopping {command} after the current batch; nothing is written (again to exit at once)",
            $"{command} wrote nothing");
        StopSignals.Cooperative = true;
        try { return Guarded(Stoppable(body, $"nothing written: {command} writes {unwritten()} only once every image is done")); }
        finally { StopSignals.Cooperative = false; StopSignals.Says = StopSignals.Training; }
    });

    /// <summary><paramref name="body"/>, with a stop (OperationCanceledException) reported as one line on stderr and the stop's exit code.</summary>
    static Func<int> Stoppable(Func<int> body, string what) => () =>
    {
        try { return body(); }
        catch (Exception e) when (e is OperationCanceledException || e is AggregateException a && a.Flatten().InnerExceptions.All(x => x is OperationCanceledException))
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"stopped{(StopSignals.SignalName is { } s ? $" ({s})" : "")}: {what}");
            return StopSignals.ExitCode;
        }
    };

    static Exception OneLine(Exception e) => e is InvalidDataException && e.Message.Contains('\n')
        ? new InvalidDataException(Regex.Replace(e.Message, @"\s*\r?\n\s*(- )?", " "), e)
        : e;
}

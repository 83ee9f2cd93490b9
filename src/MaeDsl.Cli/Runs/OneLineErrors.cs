// OneLineErrors: what reconstruct, embed and predict run their body through, so that an error is one `error:` line even when
// it comes from a loader thread (an AggregateException) or carries a multi-line message (ImageSharp lists its decoders).
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

    /// <summary>On a worker thread, for the commands that honour Ctrl-C (see <see cref="Run.GuardedAsync"/>).</summary>
    public static Task<int> GuardedAsync(Func<int> body) => Task.Run(() => Guarded(body));

    static Exception OneLine(Exception e) => e is InvalidDataException && e.Message.Contains('\n')
        ? new InvalidDataException(Regex.Replace(e.Message, @"\s*\r?\n\s*(- )?", " "), e)
        : e;
}

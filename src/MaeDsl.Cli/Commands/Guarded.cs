// Runs a command's body so that an error is one `error:` line on stderr with a non-zero exit code.
using MaeDsl.Training.Loop;

namespace MaeDsl.Cli;

/// <summary>Runs a command's body: errors become one clear line on stderr and exit code 1.</summary>
internal static class Run
{
    public static int Guarded(Func<int> body)
    {
        try { return body(); }
        catch (NonFiniteLossException e) { Console.Error.WriteLine($"error: {e.Message}"); return 2; }
        catch (OperationCanceledException) { Console.Error.WriteLine("stopped: the last checkpoint is the resume point"); return 130; }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException
                                   or MaeDsl.Native.TorchRuntimeException or MaeDsl.Checkpoints.StateDictMismatchException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// <see cref="Guarded"/> on a worker thread, for a command that honours Ctrl-C: System.CommandLine watches for the
    /// signal only once the action has returned its task, so a body run inside the call would never be cancelled.
    /// </summary>
    public static Task<int> GuardedAsync(Func<int> body) => Task.Run(() => Guarded(body));
}

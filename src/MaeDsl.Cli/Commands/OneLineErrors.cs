// OneLineErrors: the one guard every command runs its body through, so that an error is one `error:` line on stderr with a
// non-zero exit code, whatever the exception (damaged files, libtorch's native errors, a loader thread's AggregateException,
// ImageSharp's multi-line list of decoders, parallel work), and a stop on a signal says what it left: a training run its
// checkpoint and the resume command; reconstruct, embed and predict that they wrote nothing.
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using MaeDsl.Training.Loop;

namespace MaeDsl.Cli;

/// <summary>Runs a command's body: errors become one clear line on stderr and exit code 1.</summary>
internal static class OneLineErrors
{
    public static int Guarded(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (!DataParallel.IsMain && Unwrap(e) is RunStoppedException or OperationCanceledException)
        {
            return StopSignals.ExitCode;   // every rank stopped at the same iteration; rank 0 says where
        }
        catch (Exception e)
        {
            int code = Report(e);
            if (Unwrap(e) is not (RunStoppedException or OperationCanceledException)) DataParallel.AbortOthers(code);
            return code;
        }
        finally { DataParallel.Leave(); }
    }

    /// <summary>
    /// <see cref="Guarded"/> on a worker thread, for a command that honours Ctrl-C/SIGTERM (<see cref="StopSignals"/>): the
    /// action returns its task at once, the signal cancels the token, and the body stops after its current step.
    /// </summary>
    public static Task<int> GuardedAsync(Func<int> body) => Task.Run(() =>
    {
        StopSignals.Cooperative = true;
        try { return Guarded(body); }
        finally { StopSignals.Cooperative = false; }
    });

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
        catch (Exception e) when (e is OperationCanceledException || e is AggregateException a && a.Flatten().InnerExceptions.All(x
            => x is OperationCanceledException))
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"stopped{(StopSignals.SignalName is { } s ? $" ({s})" : "")}: {what}");
            return StopSignals.ExitCode;
        }
    };

    /// <summary>The one line (two for a stop: the checkpoint and the command that resumes) and the exit code of <paramref name="error"/>.</summary>
    internal static int Report(Exception error)
    {
        var e = Unwrap(error);
        switch (e)
        {
            case NonFiniteLossException:
                Console.Error.WriteLine($"error: {OneLine(e.Message)}");
                return 2;
            case RunStoppedException stopped:
                Console.Out.Flush();
                Console.Error.WriteLine(
                    $"stopped{(StopSignals.SignalName is { } s ? $" ({s})" : "")} at iteration {stopped.GlobalStep}: checkpoint {stopped.Checkpoint}");
                if (ResumeCommand(stopped.Checkpoint) is { } command) Console.Error.WriteLine($"resume: {command}");
                return StopSignals.ExitCode;
            case OperationCanceledException:
                Console.Out.Flush();
                Console.Error.WriteLine(
                    $"stopped{(StopSignals.SignalName is { } name ? $" ({name})" : "")} before the first step: {StopSignals.Says.BeforeWork}");
                return StopSignals.ExitCode;
            case OutOfMemoryException:
                Console.Error.WriteLine($"error: out of memory ({OneLine(e.Message)}): lower --batch or use a smaller model");
                return 1;
            case ExternalException when IsOutOfMemory(e.Message):
                Console.Error.WriteLine($"error: libtorch ran out of memory ({OneLine(e.Message)}): lower --batch or use a smaller model");
                return 1;
            case ExternalException:
                Console.Error.WriteLine($"error: libtorch: {OneLine(e.Message)}");
                return 1;
            case InvalidDataException when e.Message.Contains('\n'):   // ImageSharp lists its decoders, one a line: all of them, on one
                Console.Error.WriteLine($"error: {Regex.Replace(e.Message, @"\s*\r?\n\s*(- )?", " ").Trim()}");
                return 1;
            case ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException
                or MaeDsl.Native.TorchRuntimeException or MaeDsl.Checkpoints.StateDictMismatchException or MaeDsl.Distributed.DistributedException:
                Console.Error.WriteLine($"error: {OneLine(e.Message)}");
                return 1;
            case System.Text.Json.JsonException or FormatException or OverflowException or KeyNotFoundException or InvalidCastException:
                Console.Error.WriteLine($"error: a damaged or unexpected file: {OneLine(e.Message)}");
                return 1;
            default:
                Console.Error.WriteLine($"error: {OneLine(e.Message)} ({e.GetType().Name})");
                return 1;
        }
    }

    /// <summary>The exception that says what happened: the first of an AggregateException, the inner one of a reflection or type-initialiser wrapper.</summary>
    internal static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: > 0 } a: e = a.Flatten().InnerExceptions[0]; continue;
                case TargetInvocationException { InnerException: { } inner }: e = inner; continue;
                case TypeInitializationException { InnerException: { } inner }: e = inner; continue;
                default: return e;
            }
        }
    }

    static bool IsOutOfMemory(string message) =>
        message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || message.Contains("DefaultCPUAllocator", StringComparison.Ordinal);

    /// <summary>The first non-empty line of a message (libtorch's carry C++ frames after it).</summary>
    internal static string OneLine(string message)
    {
        var first = message.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "(no message)";
        return first;
    }

    /// <summary>The command that continues a stopped run: this program with the arguments as given and --resume <paramref name="checkpoint"/>,
    /// under <c>mpiexec -n N</c> for a data-parallel run (its rank count is part of its trajectory); null when the command has no --resume (results).</summary>
    internal static string? ResumeCommand(string checkpoint)
    {
        var args = new List<string>();
        var given = MaeCli.Arguments;
        var command = MaeCli.CreateRootCommand().Parse(given.ToArray()).CommandResult.Command;
        if (!command.Options.Any(o => o.Name == "--resume")) return null;
        for (int i = 0; i < given.Count; i++)
        {
            if (given[i] == "--resume") { i++; continue; }
            if (given[i].StartsWith("--resume=", StringComparison.Ordinal)) continue;
            args.Add(given[i]);
        }
        args.Add("--resume");
        args.Add(checkpoint);
        return DataParallel.Size > 1 ? $"mpiexec -n {DataParallel.Size} {CommandLine(args)}" : CommandLine(args);
    }

    /// <summary>This program run with <paramref name="args"/>, as a shell line (arguments quoted where needed).</summary>
    internal static string CommandLine(IEnumerable<string> args) => string.Join(' ', Program().Concat(args).Select(Quote));

    static IEnumerable<string> Program()
    {
        string? process = Environment.ProcessPath;
        string? entry = Assembly.GetEntryAssembly()?.Location;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" && !string.IsNullOrEmpty(entry)) return ["dotnet", entry];
        return [process ?? "maedsl"];
    }

    static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}

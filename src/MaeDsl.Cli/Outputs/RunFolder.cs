// RunFolder: the claim a training command holds on its --output folder while it writes it: a lock file naming the writer's pid
// (a second writer is refused naming it; the lock of a process that no longer runs is taken over, with a line), and the refusal
// of a new run into a folder that already holds one (its checkpoints) unless --resume or --overwrite is given.
using System.Globalization;
using MaeDsl.Training;
using MaeDsl.Training.Loop;

namespace MaeDsl.Cli;

/// <summary>A run folder claimed by this process; disposing releases the lock (and removes the folder when this claim made it and it
/// is left empty).</summary>
internal sealed class RunFolder : IDisposable
{
    /// <summary>The lock file's name in the run folder; it holds the writer's pid.</summary>
    public const string LockFileName = "run.lock";

    /// <summary>What a run writes into its folder, removed by --overwrite (folders, then files; and reconstruction*.png).</summary>
    static readonly string[] RunFolders = ["checkpoints", "pictures", "tensorboard"];
    static readonly string[] RunFiles =
        [RunConfig.FileName, TrainingLog.CsvFileName, EvalLog.CsvFileName, RunHistory.FileName, "results.json", "loss-curve.png"];

    static readonly HashSet<string> HeldHere = new(StringComparer.Ordinal);   // the folders this process holds (an in-process second claim is refused too)

    readonly string lockPath;
    readonly bool created, follows;
    int released;

    RunFolder(string directory, bool created, bool follows = false)
    {
        Root = directory;
        lockPath = Path.Combine(directory, LockFileName);
        this.created = created;
        this.follows = follows;
    }

    /// <summary>
    /// The folder as a rank other than 0 of a data-parallel run sees it: rank 0 claims it and alone writes it, so this one takes no
    /// lock, refuses nothing and removes nothing.
    /// </summary>
    public static RunFolder Follow(string directory) => new(Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar), created: false, follows: true);

    /// <summary><see cref="Claim"/> on rank 0 of this process's group (or in one process), <see cref="Follow"/> on the other ranks.</summary>
    public static RunFolder ClaimAsRank(string directory, bool resume, bool overwrite) =>
        DataParallel.Join().IsMain ? Claim(directory, resume, overwrite) : Follow(directory);

    /// <summary>The run folder (absolute).</summary>
    public string Root { get; }

    /// <summary>
    /// Claims <paramref name="directory"/> for a run: creates it, takes its lock, and refuses (one <see cref="ArgumentException"/> line)
    /// when another live process holds the lock or, without <paramref name="resume"/>, when it holds a run's checkpoints and
    /// <paramref name="overwrite"/> is false; with <paramref name="overwrite"/> the earlier run's files are removed first.
    /// </summary>
    /// <param name="option">How the user names the folder (--output, --work).</param>
    public static RunFolder Claim(string directory, bool resume, bool overwrite, string option = "--output")
    {
        string dir = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        bool created = !Directory.Exists(dir) || !Directory.EnumerateFileSystemEntries(dir).Any();
        OutputPath.CreateFolder(dir, option);
        var claim = new RunFolder(dir, created);
        claim.Lock(option);
        try
        {
            int kept = Checkpoints(dir);
            if (!resume && kept > 0)
            {
                if (!overwrite)
                    throw new ArgumentException($"{option} {dir} already holds a run ({kept} checkpoint file(s) in {Path.Combine(dir, "checkpoints")}): " +
                        $"continue it with --resume {Path.Combine(dir, "checkpoints", MaeDsl.Checkpoints.CheckpointStore.LastFileName)}, " +
                        $"choose another {option}, " +
                        "or pass --overwrite to replace it");
                RemoveRun(dir);
                Console.WriteLine($"--overwrite: removed the earlier run's checkpoints, logs and pictures from {dir}");
            }
        }
        catch
        {
            claim.Dispose();
            throw;
        }
        return claim;
    }

    /// <summary>A new folder runs/&lt;name&gt;-&lt;UTC time&gt; (-2, -3, … when a run of the same second has it): each run's default --output.</summary>
    public static string UniqueDefault(string name)
    {
        string stem = Path.Combine("runs", $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        string candidate = stem;
        for (int n = 2; System.IO.Directory.Exists(candidate) || File.Exists(candidate); n++) candidate = $"{stem}-{n}";
        return candidate;
    }

    /// <summary>The folder of a checkpoint's run: runs/x/checkpoints/checkpoint-last.ckpt → runs/x.</summary>
    public static string OfCheckpoint(string checkpoint)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(checkpoint))!;
        return Path.GetFileName(dir) == "checkpoints" ? Path.GetDirectoryName(dir)! : dir;
    }

    /// <summary>The checkpoint files (.ckpt) in the folder's checkpoints/.</summary>
    static int Checkpoints(string dir)
    {
        string checkpoints = Path.Combine(dir, "checkpoints");
        return System.IO.Directory.Exists(checkpoints) ? System.IO.Directory.GetFiles(checkpoints, "*.ckpt").Length : 0;
    }

    static void RemoveRun(string dir)
    {
        foreach (var f in RunFolders.Select(n => Path.Combine(dir, n)).Where(System.IO.Directory.Exists)) System.IO.Directory.Delete(f, recursive: true);
        foreach (var f in RunFiles.Select(n => Path.Combine(dir, n)).Where(File.Exists)) File.Delete(f);
        foreach (var f in System.IO.Directory.GetFiles(dir, "reconstruction*.png")) File.Delete(f);   // PretrainPictures' copies of the last grid
    }

    void Lock(string option)
    {
        lock (HeldHere)
        {
            if (HeldHere.Contains(Root))
                throw new ArgumentException($"{option} {Root} is being written by this process ({Environment.ProcessId}) already: give another {option}");
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    using (var stream = new FileStream(lockPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
                    using (var writer = new StreamWriter(stream))
                        writer.Write(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
                    HeldHere.Add(Root);
                    return;
                }
                catch (IOException) when (File.Exists(lockPath) && attempt < 3)
                {
                    string content;
                    try { content = File.ReadAllText(lockPath).Trim(); }
                    catch (FileNotFoundException) { continue; }   // released meanwhile
                    bool parsed = int.TryParse(content, NumberStyles.None, CultureInfo.InvariantCulture, out int pid);
                    if (parsed && pid != Environment.ProcessId && MaeDsl.IO.AtomicFile.IsAlive(pid))
                        throw new IOException($"{option} {Root} is being written by process {pid} (its lock {lockPath}); " +
                                              $"wait for it to end, stop it, or give another {option}");
                    Console.WriteLine(parsed
                        ? $"note: {lockPath} was left by process {pid}, which no longer runs (killed?): lock taken over"
                        : $"note: {lockPath} holds no pid ({content.Length} characters): lock taken over");
                    // remove it only if it still is the stale one, then race for CreateNew again
                    try { if (File.ReadAllText(lockPath).Trim() == content) File.Delete(lockPath); }
                    catch (FileNotFoundException) { }
                }
            }
        }
    }

    /// <summary>
    /// <paramref name="body"/>, the run; a stop before its first checkpoint (a signal in the first seconds) removes the folder when this
    /// claim created it, so that nothing is kept, as the stop says.
    /// </summary>
    public T Run<T>(Func<T> body)
    {
        try { return body(); }
        catch (OperationCanceledException) when (created && Checkpoints(Root) == 0)
        {
            Dispose();
            try { System.IO.Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Releases the lock; a folder this claim created that is left empty is removed.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref released, 1) != 0 || follows) return;
        lock (HeldHere) HeldHere.Remove(Root);
        try { File.Delete(lockPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        if (created && System.IO.Directory.Exists(Root) && !System.IO.Directory.EnumerateFileSystemEntries(Root).Any())
            try { System.IO.Directory.Delete(Root); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

// The options every command shares, declared once: the model (--model, alias --variant), the data (--dataset,
// --data-dir, --train-limit), the seed, the torch threads and the device. Each command gets its own instance (an option
// belongs to one command) and adds the ones it honours.
using System.CommandLine;
using MaeDsl;
using MaeDsl.Training;

namespace MaeDsl.Cli;

/// <summary>The model, data, seed, thread and device options shared by every command.</summary>
/// <param name="useDefault">Whether a missing --model means the default model (false: as if none were marked; tests use it).</param>
internal sealed class CommonOptions(bool useDefault = true)
{
    public readonly Option<string?> Model = new("--model", "--variant")
    {
        Description = "Model: a registered key or class name (default: the model marked [MaeModel(Default = true)]). " + ModelList(),
    };
    public readonly Option<string> Dataset = new("--dataset")
    {
        Description = $"'{DataSources.FashionMnistName}' or the root of an ImageFolder (root/class_x/*.png; a sibling 'val' folder of a 'train' root is the " +
            $"held-out split)",
        DefaultValueFactory = _ => DataSources.FashionMnistName,
    };
    public readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "Folder of the Fashion-MNIST IDX .gz files (default: $MAEDSL_FASHION_MNIST or /usr/share/datasets/fashion-mnist, from Debian's " +
            "dataset-fashion-mnist)",
    };
    public readonly Option<int?> TrainLimit = new("--train-limit") {
        Description = "Use N training images only: a class-balanced subset drawn with --seed, recorded in config.json (quick checks)" };
    public readonly Option<long> Seed = new("--" + RunOptionDeclarations.Seed.Name) { Description = RunOptionDeclarations.Seed.Help,
        DefaultValueFactory = _ => 0 };
    public readonly Option<int> Threads = new("--threads")
    {
        Description = "torch threads (torch.set_num_threads), at most the cores this process may use (the default)", DefaultValueFactory = _ => UsableCores,
    };
    public readonly Option<string> Device = new("--device")
    {
        Description = $"Where the model computes: {Devices.Choices} (CUDA when libtorch reports it, else the CPU); " +
                      "CUDA needs a build with -p:TorchBackend=cuda",
        DefaultValueFactory = _ => "cpu",
    };

    /// <summary>Adds the shared options, except those in <paramref name="except"/> (a command must not offer what it does not honour).</summary>
    public void AddTo(Command command, params Option[] except)
    {
        foreach (var o in new Option[] { Model, Dataset, DataDir, TrainLimit, Seed, Threads, Device })
            if (!except.Contains(o)) command.Options.Add(o);
    }

    /// <summary>The model named by --model, or the default one; an <see cref="ArgumentException"/> (one error line) otherwise.</summary>
    public MaeModelInfo ReadModel(ParseResult parse) => Resolve(parse.GetValue(Model), useDefault);

    /// <summary>Whether a model is marked default (the command then runs without --model; two marked are refused by <see cref="Resolve(string?,
    /// bool)"/>).</summary>
    public bool HasDefaultModel => useDefault && MaeModels.DefaultsOf(MaeModels.All).Count > 0;

    /// <summary>The model <paramref name="name"/> names (key or class name), or the default model when it is null.</summary>
    public static MaeModelInfo Resolve(string? name, bool useDefault = true) => Resolve(name, useDefault, MaeModels.All);

    /// <summary><see cref="Resolve(string?, bool)"/> among <paramref name="all"/> (the registered models), the registry's errors in --model's words.</summary>
    internal static MaeModelInfo Resolve(string? name, bool useDefault, IReadOnlyList<MaeModelInfo> all)
    {
        if (name is not null) return ModelsCommand.Find(name);
        var marked = useDefault ? MaeModels.DefaultsOf(all) : [];
        return marked.Count switch
        {
            1 => marked[0],
            0 => throw new ArgumentException(
                $"--model is required: no model is marked [MaeModel(Default = true)]; choose one of {string.Join(", ", all.Select(m => m.Key))}"),
            _ => throw new ArgumentException($"--model is required: {MaeModels.Describe(marked)} are each marked [MaeModel(Default = true)]; " +
                                             $"choose one of {string.Join(", ", all.Select(m => m.Key))}"),
        };
    }

    /// <summary>The cores this process may use: <see cref="Environment.ProcessorCount"/>, which on Linux honours the CPU affinity mask
    /// (sched_getaffinity, e.g. taskset) and the cgroup CPU quota (docker --cpus), rounded up.</summary>
    public static int UsableCores => Environment.ProcessorCount;

    /// <summary>--threads, checked: at least 1, at most the cores this process may use (more only oversubscribes them: issue 19 saw
    /// --threads 10000 start 20,007 OS threads and run 100× slower); a larger value is refused naming the limit.</summary>
    public int ReadThreads(ParseResult parse)
    {
        int threads = parse.GetValue(Threads);
        OptionCheck.Require(threads >= 1, "--threads", threads, "must be >= 1");
        OptionCheck.Require(threads <= UsableCores, "--threads", threads,
            $"must be at most {UsableCores}, the cores this process may use (its CPU affinity and cgroup quota; Environment.ProcessorCount)");
        return threads;
    }

    /// <summary>--threads, checked (<see cref="ReadThreads"/>), applied to torch.</summary>
    public int ApplyThreads(ParseResult parse)
    {
        int threads = ReadThreads(parse);
        MaeDsl.Native.TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(threads);
        return threads;
    }

    /// <summary>--device, resolved before any work (one error line for a CUDA device this libtorch cannot reach; auto becomes cpu or cuda:0).</summary>
    public TorchSharp.torch.Device ReadDevice(ParseResult parse) => Devices.Resolve(parse.GetValue(Device));

    /// <summary>--train-limit, checked.</summary>
    public int? ReadTrainLimit(ParseResult parse)
    {
        int? limit = parse.GetValue(TrainLimit);
        OptionCheck.Require(limit is null or >= 1, "--train-limit", limit, "must be >= 1");
        return limit;
    }

    static string ModelList()
    {
        var all = MaeModels.All;
        return all.Count == 0 ? "No model is registered." : "Registered: " + string.Join(", ", all.Select(m => $"{m.Key} ({m.Description})"));
    }
}

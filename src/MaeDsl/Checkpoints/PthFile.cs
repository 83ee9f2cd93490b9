// PthFile: PyTorch's zip format (torch.save) through TorchSharp.PyBridge, every tensor checked against its storage before it is read.
using System.Collections;
using TorchSharp.PyBridge;
using MaeDsl.IO;
using static TorchSharp.torch;

namespace MaeDsl.Checkpoints;

/// <summary>An official-style training checkpoint: {'model': state_dict, 'optimizer': ..., 'epoch': ..., ...}.</summary>
public sealed record PthCheckpoint(Dictionary<string, Tensor> Model, Hashtable Entries)
{
    /// <summary>The 'epoch' entry, or null.</summary>
    public int? Epoch => Entries["epoch"] is { } e ? Convert.ToInt32(e) : null;
    /// <summary>The 'optimizer' entry (state + param_groups), or null.</summary>
    public Hashtable? Optimizer => Entries["optimizer"] as Hashtable;
}

/// <summary>
/// PyTorch <c>.pth</c> files: a flat state_dict, or an official checkpoint dict whose 'model' entry is one (read); a flat
/// state_dict that torch.load reads (written atomically).
/// </summary>
internal static class PthFile
{
    /// <summary>A PyTorch zip-format file: a flat state_dict, or a checkpoint dict whose 'model' entry is one.</summary>
    /// <remarks>
    /// The pickle is read first without any tensor data; every tensor's dtype, shape, stride and storage offset are checked
    /// against its storage in the archive (non-negative sizes, a product within <c>long</c>, the elements within the storage)
    /// before any tensor is allocated. A refusal is an <see cref="InvalidDataException"/> naming the file and the key.
    /// </remarks>
    public static PthCheckpoint Read(string path)
    {
        StateDicts.RequireFile(path);
        Hashtable root;
        try
        {
            using var stream = File.OpenRead(path);
            root = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true, skipTensorRead: true);
            var storageSizes = StorageSizes(path);
            CheckPthTensors(root, path, "", storageSizes);
            root = (Hashtable)Materialize(root, storageSizes)!;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: a tensor's storage ends early (truncated or damaged file); expected the bytes its shape needs", e);
        }
        catch (Exception e) when (e is not IOException and not InvalidDataException)
        {
            throw new InvalidDataException($"{path}: not a PyTorch state_dict or checkpoint written by torch.save (zip format): {e.Message}", e);
        }
        var model = root["model"] is Hashtable m ? m : root;
        var tensors = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry kv in model)
            if (kv.Value is Tensor t) tensors[(string)kv.Key] = t;
        if (tensors.Count == 0)
            throw new InvalidDataException(
                $"{path}: holds no tensors at the top level nor under 'model' (keys: {string.Join(", ", root.Keys.Cast<object>())})");
        return new PthCheckpoint(tensors, root);
    }

    // Every tensor of the pickle (at any depth: the model, the optimizer's moments) is checked before any is read.
    static void CheckPthTensors(object? node, string path, string key, IReadOnlyDictionary<int, long> storageSizes)
    {
        switch (node)
        {
            case { } t when PthTensor.Is(t):
                CheckPthTensor(new PthTensor(t), path, key, storageSizes);
                break;
            case Hashtable table:
                foreach (DictionaryEntry kv in table) CheckPthTensors(kv.Value, path, key.Length == 0 ? $"{kv.Key}" : $"{key}.{kv.Key}", storageSizes);
                break;
            case IList list:
                for (int i = 0; i < list.Count; i++) CheckPthTensors(list[i], path, $"{key}[{i}]", storageSizes);
                break;
        }
    }

    /// <summary>PyBridge's internal TensorConstructorArgs (what skipTensorRead returns): read by reflection.</summary>
    readonly struct PthTensor(object args)
    {
        static readonly Type? ArgsType = typeof(PyTorchUnpickler).GetNestedType("TensorConstructorArgs",
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public);
        static T Get<T>(object o, string name) => (T)ArgsType!.GetProperty(name)!.GetValue(o)!;
        public static bool Is(object o) => ArgsType is not null && ArgsType.IsInstanceOfType(o);
        public long[]? Shape => Get<long[]?>(args, nameof(Shape));
        public long[]? Stride => Get<long[]?>(args, nameof(Stride));
        public long StorageOffset => Get<int>(args, nameof(StorageOffset));
        public int ArchiveIndex => Get<int>(args, nameof(ArchiveIndex));
        public ScalarType DType => Get<ScalarType>(args, nameof(DType));
        public Stream Data => Get<Stream>(args, nameof(Data));
        /// <summary>Row-major strides (size-1 dimensions aside): the layout PyBridge reads; any other is a view of its storage.</summary>
        public bool IsContiguous
        {
            get
            {
                var shape = Shape ?? [];
                var stride = Stride ?? [];
                long expected = 1;
                for (int i = shape.Length - 1; i >= 0; i--)
                {
                    if (shape[i] != 1 && stride[i] != expected) return false;
                    expected *= shape[i];
                }
                return true;
            }
        }

        /// <summary>The tensor: PyBridge's reader for one that fills its storage in order; a view (a transposed weight, a slice, a
        /// tensor sharing its storage) is read from its whole
        /// storage of <paramref name="storageBytes"/> and copied out contiguous, as torch.load's view would be by .contiguous().</summary>
        public Tensor Read(long storageBytes)
        {
            long numel = (Shape ?? []).Aggregate(1L, (a, d) => a * d);
            if (!IsContiguous || StorageOffset != 0 || storageBytes != numel * PthElementSize(DType)) return ReadView(storageBytes);
            try { return (Tensor)ArgsType!.GetMethod("ReadTensorFromStream")!.Invoke(args, null)!; }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }

        Tensor ReadView(long storageBytes)
        {
            var buffer = new byte[storageBytes];
            using (var data = Data) data.ReadExactly(buffer);
            using var storage = empty(storageBytes / PthElementSize(DType), dtype: DType);
            if (storageBytes > 0) storage.bytes = buffer;
            using var view = storage.as_strided(Shape ?? [], Stride ?? [], StorageOffset);
            return view.contiguous();
        }
    }

    // The uncompressed size of each entry of the archive, by its index (PyBridge's ArchiveIndex), from the central directory.
    static Dictionary<int, long> StorageSizes(string path)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        var sizes = new Dictionary<int, long>();
        for (int i = 0; i < zip.Entries.Count; i++) sizes[i] = zip.Entries[i].Length;
        return sizes;
    }

    static void CheckPthTensor(PthTensor t, string path, string key, IReadOnlyDictionary<int, long> storageSizes)
    {
        string Where() => $"{path}: tensor '{key}'";
        var shape = t.Shape ?? [];
        var stride = t.Stride ?? [];
        if (shape.Any(d => d < 0) || stride.Any(d => d < 0) || t.StorageOffset < 0 || stride.Length != shape.Length)
            throw new InvalidDataException(
                $"{Where()} has shape [{string.Join(", ", shape)}], stride [{string.Join(", ", stride)}] and storage offset {t.StorageOffset}; expected " +
                $"non-negative values and one stride per dimension");
        long needed;
        try
        {
            long numel = 1, reach = 0;
            for (int i = 0; i < shape.Length; i++)
            {
                numel = checked(numel * shape[i]);
                if (shape[i] > 0) reach = checked(reach + (shape[i] - 1) * stride[i]);
            }
            needed = numel == 0 ? 0 : checked((t.StorageOffset + reach + 1) * PthElementSize(t.DType));
        }
        catch (OverflowException)
        {
            throw new InvalidDataException(
                $"{Where()} has shape [{string.Join(", ", shape)}] of {t.DType}, whose size overflows a 64-bit integer; expected a shape that fits the file");
        }
        if (!storageSizes.TryGetValue(t.ArchiveIndex, out long available))
            throw new InvalidDataException($"{Where()} refers to storage {t.ArchiveIndex}, which the archive does not hold; expected an entry of the archive");
        if (needed > available)
            throw new InvalidDataException(
                $"{Where()} of {t.DType} and shape [{string.Join(", ", shape)}] needs {needed} bytes of storage, but its storage in the archive holds " +
                $"{available}");
    }

    static long PthElementSize(ScalarType type) => type switch
    {
        ScalarType.ComplexFloat64 => 16,
        ScalarType.ComplexFloat32 => 8,
        _ => StateDicts.ElementSize(type),
    };

    static object? Materialize(object? node, IReadOnlyDictionary<int, long> storageSizes)
    {
        switch (node)
        {
            case { } t when PthTensor.Is(t):
                var tensor = new PthTensor(t);
                return tensor.Read(storageSizes[tensor.ArchiveIndex]);
            case Hashtable table:
                foreach (var k in table.Keys.Cast<object>().ToList()) table[k] = Materialize(table[k], storageSizes);
                return table;
            case IList list when !list.IsReadOnly && !list.IsFixedSize || list is Array:
                for (int i = 0; i < list.Count; i++) list[i] = Materialize(list[i], storageSizes);
                return list;
            default:
                return node;
        }
    }

    /// <summary>Writes a flat state_dict that PyTorch's torch.load reads, atomically.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var table = new Hashtable();
        var contiguous = tensors.Select(kv => (kv.Key, Tensor: kv.Value.detach().cpu().contiguous())).ToList();
        try
        {
            foreach (var (name, t) in contiguous) table[name] = t;
            AtomicFile.Write(path, stream => PyTorchPickler.PickleStateDict(stream, table, leaveOpen: true));
        }
        finally { foreach (var (_, t) in contiguous) t.Dispose(); }
    }
}

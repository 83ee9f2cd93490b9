// FashionMnist: the Fashion-MNIST IDX files as an image dataset.
using System.Buffers.Binary;
using System.IO.Compression;

namespace MaeDsl.Data;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017) read from its IDX <c>.gz</c> files: 60,000 training and 10,000 test
/// images, 28×28, one grey channel, 10 classes. The raw bytes stay compact (N×784 bytes); images are
/// converted to float only when an item is requested.
/// </summary>
/// <remarks>
/// The files come from Debian's <c>dataset-fashion-mnist</c> package, installed into
/// <see cref="DefaultFolder"/> by <c>eng/install-native-deps.sh</c>. The folder can be overridden by the
/// argument, or by the environment variable <see cref="FolderVariable"/>.
/// </remarks>
public sealed class FashionMnist : IImageDataset
{
    /// <summary>Where Debian's dataset-fashion-mnist package puts the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";
    /// <summary>Environment variable that overrides <see cref="DefaultFolder"/> when no folder is passed.</summary>
    public const string FolderVariable = "MAEDSL_FASHION_MNIST";
    /// <summary>The Debian package that provides the files.</summary>
    public const string DebianPackage = "dataset-fashion-mnist";
    /// <summary>Image side in pixels.</summary>
    public const int Side = 28;
    /// <summary>IDX magic number of an unsigned-byte 3-D array (images).</summary>
    public const int ImagesMagic = 0x00000803;
    /// <summary>IDX magic number of an unsigned-byte 1-D array (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>The ten class names in label order.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Mean of all training-set pixels in [0, 1] (computed from the files; see the tests).</summary>
    public const float Mean = 0.28604f;
    /// <summary>Standard deviation of all training-set pixels in [0, 1].</summary>
    public const float Std = 0.35302f;

    readonly byte[] pixels;
    readonly byte[] labels;

    FashionMnist(string folder, bool train, byte[] pixels, byte[] labels)
    {
        Folder = folder; Train = train; this.pixels = pixels; this.labels = labels;
    }

    /// <summary>The folder the files were read from.</summary>
    public string Folder { get; }
    /// <summary>True for the 60,000-image training split, false for the 10,000-image test split (t10k).</summary>
    public bool Train { get; }

    /// <summary>The folder used when none is given: <see cref="FolderVariable"/> if set, else <see cref="DefaultFolder"/>.</summary>
    public static string ResolveFolder(string? folder = null)
        => !string.IsNullOrEmpty(folder) ? folder
         : Environment.GetEnvironmentVariable(FolderVariable) is { Length: > 0 } env ? env
         : DefaultFolder;

    /// <summary>Reads the training (<paramref name="train"/> = true) or test split from <paramref name="folder"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder is missing (the message names it, the Debian package and the install script).</exception>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is not a valid IDX file of the expected kind and size.</exception>
    public static FashionMnist Load(string? folder = null, bool train = true)
    {
        bool fromVariable = string.IsNullOrEmpty(folder) && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(FolderVariable));
        folder = ResolveFolder(folder);
        if (IO.FileKinds.Of(folder, followLinks: true) is var kind && kind is not (IO.FileKind.Missing or IO.FileKind.Directory))
            throw new DirectoryNotFoundException(
                $"Fashion-MNIST folder '{folder}'{(fromVariable ? $" (from {FolderVariable})" : "")} is a {IO.FileKinds.Describe(kind)}, " +
                $"not a folder; expected the folder that holds the IDX .gz files (default {DefaultFolder}).");
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException(
                $"Fashion-MNIST folder '{folder}'{(fromVariable ? $" (from {FolderVariable})" : "")} does not exist. Install Debian's package " +
                    $"{DebianPackage} " +
                $"(it puts the files in {DefaultFolder}); on Debian 12 run `sudo bash eng/install-native-deps.sh` from the repository root, " +
                $"or pass the folder that holds the IDX .gz files (or set {FolderVariable}).");
        string prefix = train ? "train" : "t10k";
        string imagesPath = Path.Combine(folder, $"{prefix}-images-idx3-ubyte.gz");
        string labelsPath = Path.Combine(folder, $"{prefix}-labels-idx1-ubyte.gz");
        var (count, rows, cols, pixels) = ReadImages(imagesPath);
        if (rows != Side || cols != Side)
            throw new InvalidDataException($"{imagesPath}: images are {rows}×{cols}, Fashion-MNIST's are {Side}×{Side}.");
        var labels = ReadLabels(labelsPath);
        if (labels.Length != count)
            throw new InvalidDataException($"{labelsPath} has {labels.Length} labels but {imagesPath} has {count} images.");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= Classes.Count)
                throw new InvalidDataException($"{labelsPath}: label {labels[i]} of item {i} is not a Fashion-MNIST class (0..{Classes.Count - 1}).");
        return new FashionMnist(folder, train, pixels, labels);
    }

    /// <summary>Reads an IDX3 unsigned-byte image file (optionally gzipped): count, rows, columns and the raw bytes.</summary>
    public static (int Count, int Rows, int Columns, byte[] Pixels) ReadImages(string path)
    {
        var bytes = ReadIdx(path, ImagesMagic, "images (IDX3, unsigned byte)", out var dims);
        return (dims[0], dims[1], dims[2], bytes);
    }

    /// <summary>Reads an IDX1 unsigned-byte label file (optionally gzipped).</summary>
    public static byte[] ReadLabels(string path) => ReadIdx(path, LabelsMagic, "labels (IDX1, unsigned byte)", out _);

    static byte[] ReadIdx(string path, int magic, string kind, out int[] dims)
    {
        if (IO.FileKinds.Of(path, followLinks: true) == IO.FileKind.Missing)
            throw new FileNotFoundException(
                $"Fashion-MNIST file '{path}' is missing. Debian's package {DebianPackage} installs it " +
                $"(on Debian 12: `sudo bash eng/install-native-deps.sh` from the repository root).", path);
        IO.FileKinds.RequireRegular(path, "Fashion-MNIST IDX (.gz)");   // a FIFO would block the open
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            Span<byte> header = stackalloc byte[4];
            ReadExactly(stream, header, path, "the magic number");
            int found = BinaryPrimitives.ReadInt32BigEndian(header);
            if (found != magic)
                throw new InvalidDataException($"{path}: IDX magic number is 0x{found:X8}, expected 0x{magic:X8} for {kind}.");
            int rank = magic & 0xFF;
            dims = new int[rank];
            long total = 1;
            for (int d = 0; d < rank; d++)
            {
                ReadExactly(stream, header, path, $"dimension {d}");
                dims[d] = BinaryPrimitives.ReadInt32BigEndian(header);
                if (dims[d] <= 0)
                    throw new InvalidDataException($"{path}: IDX dimension {d} is {dims[d]}, expected a positive size.");
                total = total > Array.MaxLength ? total : total * dims[d];   // stops growing past the limit: no overflow
            }
            if (total > Array.MaxLength)
                throw new InvalidDataException($"{path}: IDX sizes [{string.Join(", ", dims)}] hold more bytes than one array can ({Array.MaxLength}).");
            // the header is not trusted: what it announces must be in the file before the buffer is allocated
            long headerBytes = 4 + 4L * rank;
            if (stream == file && file.Length - headerBytes != total)
                throw new InvalidDataException(
                    $"{path}: IDX sizes [{string.Join(", ", dims)}] announce {total} data bytes, the file holds {file.Length - headerBytes} " +
                    $"({(file.Length - headerBytes < total ? "truncated IDX file" : "extra bytes after the data")}).");
            // a gzip stream's size is known only once it is read (ISIZE is only the last member's, mod 2^32): the buffer grows
            // with the data actually decompressed, so a header that lies about the sizes never allocates more than the file holds
            var data = ReadData(stream, total, path, $"{total} data bytes for sizes [{string.Join(", ", dims)}]");
            if (stream.ReadByte() != -1)
                throw new InvalidDataException($"{path}: extra bytes after the {total} data bytes that IDX sizes [{string.Join(", ", dims)}] announce.");
            return data;
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: not a valid gzip/IDX file: {e.Message}", e);
        }
    }

    // Reads exactly total bytes, growing the buffer with the data that comes (a stream that ends early: truncated).
    static byte[] ReadData(Stream stream, long total, string path, string what)
    {
        var data = new byte[Math.Min(total, 1 << 20)];
        long read = 0;
        while (read < total)
        {
            if (read == data.Length) Array.Resize(ref data, (int)Math.Min(total, 2L * data.Length));
            int n = stream.Read(data, (int)read, (int)(data.Length - read));
            if (n == 0)
                throw new InvalidDataException($"{path}: file ends after {read} of the {what} (truncated IDX file).");
            read += n;
        }
        return data;
    }

    static void ReadExactly(Stream stream, Span<byte> buffer, string path, string what)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer[read..]);
            if (n == 0)
                throw new InvalidDataException($"{path}: file ends after {read} of the {buffer.Length} bytes of {what} (truncated IDX file).");
            read += n;
        }
    }

    public int Count => labels.Length;
    public int Channels => 1;
    public int? Height => Side;
    public int? Width => Side;
    public int NumClasses => Classes.Count;
    public IReadOnlyList<string> ClassNames => Classes;

    /// <summary>The 784 raw bytes of item <paramref name="index"/> (row-major).</summary>
    public ReadOnlySpan<byte> RawPixels(int index) => pixels.AsSpan(Check(index) * Side * Side, Side * Side);

    public (FloatImage Image, int Label) Get(int index)
    {
        var raw = RawPixels(index);
        var data = new float[Side * Side];
        for (int i = 0; i < data.Length; i++) data[i] = raw[i] / 255f;
        return (new FloatImage(1, Side, Side, data), labels[index]);
    }

    public int GetLabel(int index) => labels[Check(index)];

    public string Describe(int index) => $"Fashion-MNIST {(Train ? "train" : "t10k")} item {index} ({Folder})";

    int Check(int index) => (uint)index < (uint)labels.Length ? index
        : throw new ArgumentOutOfRangeException(nameof(index), $"Fashion-MNIST {(Train ? "train" : "t10k")}: index {index} is outside 0..{labels.Length - 1}.");
}

// ImageDataset: the dataset interface (IImageDataset), FloatImage and subsets.
namespace MaeDsl.Data;

/// <summary>
/// One image as float CHW (channel, row, column) in row-major order, values in [0, 1] before normalisation.
/// </summary>
public sealed class FloatImage
{
    /// <summary>Wraps <paramref name="data"/> (not copied); its length must be channels × height × width.</summary>
    public FloatImage(int channels, int height, int width, float[] data)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"FloatImage: channels, height and width must be positive, got C={channels}, H={height}, W={width}.");
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length != (long)channels * height * width)
            throw new ArgumentException(
                $"FloatImage: data has {data.Length} values, expected C×H×W = {channels}×{height}×{width} = {(long)channels * height * width}.", nameof(data));
        Channels = channels; Height = height; Width = width; Data = data;
    }

    /// <summary>A zero image of the given shape.</summary>
    public FloatImage(int channels, int height, int width) : this(channels, height, width, new float[checked(channels * height * width)]) { }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    /// <summary>The values, index <c>(c × Height + y) × Width + x</c>.</summary>
    public float[] Data { get; }

    /// <summary>The value at channel <paramref name="c"/>, row <paramref name="y"/>, column <paramref name="x"/>.</summary>
    public float this[int c, int y, int x]
    {
        get => Data[(c * Height + y) * Width + x];
        set => Data[(c * Height + y) * Width + x] = value;
    }

    /// <summary>"C×H×W", for messages.</summary>
    public string ShapeText => $"{Channels}×{Height}×{Width}";
}

/// <summary>
/// A labelled image dataset, random access, thread-safe <see cref="Get"/> (the <see cref="BatchLoader"/> calls it
/// from several threads). Images are float CHW in [0, 1] with <see cref="Channels"/> channels; their size may
/// differ between items (ImageFolder) unless <see cref="Height"/>/<see cref="Width"/> are given.
/// </summary>
public interface IImageDataset
{
    /// <summary>Number of items.</summary>
    int Count { get; }
    /// <summary>Channels of every image returned by <see cref="Get"/> (the model's channel count).</summary>
    int Channels { get; }
    /// <summary>Height of every image, or null when images differ in size.</summary>
    int? Height { get; }
    /// <summary>Width of every image, or null when images differ in size.</summary>
    int? Width { get; }
    /// <summary>Number of classes; labels are 0 … NumClasses−1.</summary>
    int NumClasses { get; }
    /// <summary>Class names in label order.</summary>
    IReadOnlyList<string> ClassNames { get; }
    /// <summary>The image and label of item <paramref name="index"/>.</summary>
    (FloatImage Image, int Label) Get(int index);
    /// <summary>The label of item <paramref name="index"/> without decoding the image.</summary>
    int GetLabel(int index);
    /// <summary>Names the dataset (and for files the file of <paramref name="index"/>) in messages.</summary>
    string Describe(int index);
}

/// <summary>A view of some items of another dataset (e.g. the first N for a quick run).</summary>
public sealed class SubsetDataset : IImageDataset
{
    readonly IImageDataset source;
    readonly int[] indices;

    /// <summary>Items <paramref name="indices"/> of <paramref name="source"/>, in that order.</summary>
    public SubsetDataset(IImageDataset source, IEnumerable<int> indices)
    {
        this.source = source ?? throw new ArgumentNullException(nameof(source));
        this.indices = indices.ToArray();
        foreach (var i in this.indices)
            if ((uint)i >= (uint)source.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"SubsetDataset: index {i} is outside the source dataset of {source.Count} items.");
    }

    /// <summary>The first <paramref name="count"/> items of <paramref name="source"/> (all if it has fewer).</summary>
    public static SubsetDataset Take(IImageDataset source, int count) => new(source, Enumerable.Range(0, Math.Min(count, source.Count)));

    /// <summary>The first <paramref name="limit"/> items of <paramref name="source"/>, or <paramref name="source"/> itself when there is no limit or it holds
    /// no more.</summary>
    public static IImageDataset First(IImageDataset source, int? limit) =>
        limit is { } n && n < source.Count ? Take(source, n) : source;

    /// <summary>
    /// A class-balanced subset of <paramref name="count"/> items (the whole source when it holds no more): the classes take turns,
    /// each giving its next item in an order drawn from <paramref name="seed"/> (class by class, so the same seed gives the same
    /// subset on every run and machine), until <paramref name="count"/> are taken; a class that runs out leaves its turns to the others.
    /// The items keep the source's order. Unlike <see cref="First"/>, no class is lost when the source is sorted by class.
    /// </summary>
    public static IImageDataset Balanced(IImageDataset source, int? count, long seed)
    {
        if (count is not { } n || n >= source.Count) return source;
        var byClass = new List<int>[Math.Max(source.NumClasses, 1)];
        for (int c = 0; c < byClass.Length; c++) byClass[c] = [];
        for (int i = 0; i < source.Count; i++) byClass[Math.Clamp(source.GetLabel(i), 0, byClass.Length - 1)].Add(i);
        for (int c = 0; c < byClass.Length; c++)
        {
            var random = Seeds.Random(seed, Seeds.Streams.Subset, c);
            var items = byClass[c];
            for (int i = items.Count - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (items[i], items[j]) = (items[j], items[i]);
            }
        }
        var picked = new List<int>(n);
        for (int round = 0; picked.Count < n; round++)
            for (int c = 0; c < byClass.Length && picked.Count < n; c++)
                if (round < byClass[c].Count) picked.Add(byClass[c][round]);
        picked.Sort();
        return new SubsetDataset(source, picked);
    }

    /// <summary>The dataset this is a view of.</summary>
    public IImageDataset Source => source;
    /// <summary>The index in <see cref="Source"/> of item <paramref name="index"/>.</summary>
    internal int SourceIndex(int index) => indices[Check(index)];
    public int Count => indices.Length;
    public int Channels => source.Channels;
    public int? Height => source.Height;
    public int? Width => source.Width;
    public int NumClasses => source.NumClasses;
    public IReadOnlyList<string> ClassNames => source.ClassNames;
    public (FloatImage Image, int Label) Get(int index) => source.Get(indices[Check(index)]);
    public int GetLabel(int index) => source.GetLabel(indices[Check(index)]);
    public string Describe(int index) => $"{source.Describe(indices[Check(index)])} (subset item {index})";

    int Check(int index) => (uint)index < (uint)indices.Length ? index
        : throw new ArgumentOutOfRangeException(nameof(index), $"SubsetDataset: index {index} is outside 0..{indices.Length - 1}.");
}

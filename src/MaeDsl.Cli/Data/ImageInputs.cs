// ImageInputs: the images reconstruct, embed and predict run on: loose files (--images <file or folder>) or a dataset
// (--dataset), converted to the model's size and channels as the data pipeline converts them.
using MaeDsl.Data;

namespace MaeDsl.Cli;

/// <summary>Loose image files as a dataset (label 0, no classes), in the order given; each decodes as ImageFolder decodes.</summary>
internal sealed class LooseImages : IImageDataset
{
    readonly string[] files;

    public LooseImages(IReadOnlyList<string> files, int channels)
    {
        this.files = files.Select(Path.GetFullPath).ToArray();
        Channels = channels;
    }

    /// <summary>
    /// <paramref name="fileOrFolder"/>: one image file, or a folder whose image files (ImageFolder's extensions, sub-folders
    /// included) are taken in ordinal path order.
    /// </summary>
    public static LooseImages Find(string fileOrFolder, int channels)
    {
        if (File.Exists(fileOrFolder))
        {
            MaeDsl.IO.FileKinds.RequireRegular(fileOrFolder, "image");   // a FIFO would block the decoder
            return new LooseImages([fileOrFolder], channels);
        }
        if (!Directory.Exists(fileOrFolder))
            throw new FileNotFoundException($"--images: {Path.GetFullPath(fileOrFolder)} is neither an image file nor a folder", fileOrFolder);
        var found = Directory.GetFiles(fileOrFolder, "*", SearchOption.AllDirectories).Where(ImageFolder.IsImageFile)
            .Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToArray();
        if (found.Length == 0)
            throw new FileNotFoundException($"--images: {Path.GetFullPath(fileOrFolder)} holds no image file ({string.Join(", ", ImageFolder.Extensions)})",
                fileOrFolder);
        return new LooseImages(found, channels);
    }

    public IReadOnlyList<string> Files => files;
    public int Count => files.Length;
    public int Channels { get; }
    public int? Height => null;
    public int? Width => null;
    public int NumClasses => 1;
    public IReadOnlyList<string> ClassNames => [""];
    public (FloatImage Image, int Label) Get(int index) => (ImageFolder.Decode(files[index], Channels), 0);
    public int GetLabel(int index) => 0;
    public string Describe(int index) => files[index];
}

/// <summary>util/datasets.py's evaluation transform, except that an image already of the model's size is only normalised.</summary>
internal sealed class EvalOrNative(int size, Normalization normalization) : IImageTransform
{
    readonly IImageTransform eval = Transforms.Eval(size, normalization), native = Transforms.NormalizeOnly(normalization);
    public FloatImage Apply(FloatImage image, Random random) =>
        (image.Height == size && image.Width == size ? native : eval).Apply(image, random);
}

/// <summary>The images of a command: the dataset, a name for each item (its file, or split and index) and the transform to the model's input.</summary>
internal sealed record ImageInputs(IImageDataset Images, Func<int, string> NameOf, IImageTransform Transform, Normalization Normalization, string Description,
    DataSources? Data)
{
    /// <summary>The help of a command's --limit: what it takes of a dataset and of loose images.</summary>
    public static string LimitHelp(string verb, string seedOption) =>
        $"{verb} N images only: of --dataset, a class-balanced subset drawn with {seedOption} (every class present once N reaches the number of classes), " +
        "in the dataset's order; of --images, the first N files";

    /// <summary>
    /// --images (loose files) or --dataset (<paramref name="split"/>: "test" is the held-out split, else the training one), at
    /// <paramref name="imageSize"/> × <paramref name="channels"/>. The normalisation is the one the checkpoint recorded,
    /// else the dataset's (Fashion-MNIST's own; ImageNet's for RGB; for grey loose images, computed over them as for a grey ImageFolder).
    /// <paramref name="limit"/> takes of a dataset a class-balanced subset drawn with <paramref name="seed"/> (<see cref="SubsetDataset.Balanced"/>:
    /// an ImageFolder is sorted by class, and its first N images would hold a class or two), of loose files (no labels) the first N.
    /// </summary>
    public static ImageInputs Open(string? images, string dataset, string? dataDir, int imageSize, int channels, Normalization? recorded, string split,
        int? limit,
        long seed)
    {
        if (images is not null)
        {
            var loose = LooseImages.Find(images, channels);
            IImageDataset set = SubsetDataset.First(loose, limit);
            var normalization = recorded ?? (channels == 3 ? Normalization.ImageNet : Normalization.Compute(set, 2000));
            return new ImageInputs(set, i => loose.Files[i], new EvalOrNative(imageSize, normalization), normalization,
                $"{set.Count} image(s) from {Path.GetFullPath(images)}", null);
        }
        var data = DataSources.Open(dataset, dataDir, imageSize, channels);
        bool test = split == "test" && data.Test is not null;
        var source = test ? data.Test! : data.Train;
        var subset = SubsetDataset.Balanced(source, limit, seed);
        var root = source is ImageFolder folder ? folder : null;
        string splitName = test ? "test" : "train";
        var recordedOrData = recorded ?? data.Normalization;   // the model's own normalisation, when its checkpoint records it
        int SourceIndex(int i) => subset is SubsetDataset s ? s.SourceIndex(i) : i;
        string drawn = subset == source ? "" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $" (class-balanced, seed {seed})");
        return new ImageInputs(subset, i => root?.PathOf(SourceIndex(i)) ?? $"{dataset}:{splitName}:{SourceIndex(i)}", data.EvalTransform(source,
            recordedOrData),
            recordedOrData, $"{subset.Count} {splitName} image(s){drawn} of {data.Description}", data);
    }
}

// ImageFolder: torchvision's ImageFolder (root/class/image) decoded with ImageSharp.
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Data;

/// <summary>
/// The <c>root/class_x/**/*.ext</c> layout of torchvision's <c>ImageFolder</c>: one sub-folder per class,
/// classes sorted by name (ordinal, like Python's <c>sorted</c>), files sorted within each folder. Only the
/// file list is held in memory; each <see cref="Get"/> decodes one file with SixLabors.ImageSharp
/// (JPEG, PNG, BMP, GIF (first frame), WebP, TIFF).
/// </summary>
/// <remarks>
/// Images decode to R, G, B (a grey image decodes to R = G = B, i.e. it is repeated) and are converted to
/// <see cref="Channels"/> by <see cref="ChannelConversion"/>: to 1 channel by luma 0.299 R + 0.587 G + 0.114 B
/// (exactly the grey value for a grey image). Alpha is dropped (not premultiplied). Other channel counts are refused.
/// Thread-safe: the <see cref="BatchLoader"/> decodes items on several threads.
/// </remarks>
public sealed class ImageFolder : IImageDataset
{
    /// <summary>File extensions that are loaded (case-insensitive); other files are ignored, like torchvision's IMG_EXTENSIONS.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"];

    readonly (string Path, int Label)[] samples;
    readonly string[] classes;

    /// <summary>Lists the files under <paramref name="root"/>; nothing is decoded yet.</summary>
    /// <param name="root">Folder with one sub-folder per class.</param>
    /// <param name="channels">The model's channel count: 1 or 3.</param>
    public ImageFolder(string root, int channels = 3)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels),
                $"ImageFolder '{root}': cannot convert images to {channels} channels; supported are 1 (grey; RGB by luma 0.299/0.587/0.114) and 3 (RGB; grey repeated). Alpha is always dropped.");
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"ImageFolder: root folder '{root}' does not exist (expected root/<class>/<image files>).");
        Root = Path.GetFullPath(root);
        Channels = channels;
        classes = Directory.GetDirectories(Root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0)
            throw new DirectoryNotFoundException($"ImageFolder: '{Root}' has no class sub-folders (expected root/<class>/<image files>).");
        var list = new List<(string, int)>();
        for (int label = 0; label < classes.Length; label++)
        {
            string classDir = Path.Combine(Root, classes[label]);
            int before = list.Count;
            var dirs = Directory.GetDirectories(classDir, "*", SearchOption.AllDirectories).Append(classDir).Order(StringComparer.Ordinal);
            foreach (var dir in dirs)
                foreach (var file in Directory.GetFiles(dir).Where(IsImageFile).Order(StringComparer.Ordinal))
                    list.Add((file, label));
            if (list.Count == before)
                throw new FileNotFoundException(
                    $"ImageFolder: class folder '{classDir}' holds no image file (extensions: {string.Join(", ", Extensions)}).", classDir);
        }
        samples = list.ToArray();
    }

    /// <summary>True if <paramref name="path"/> has one of <see cref="Extensions"/>.</summary>
    public static bool IsImageFile(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The absolute root folder.</summary>
    public string Root { get; }
    public int Count => samples.Length;
    public int Channels { get; }
    /// <summary>Null: files may differ in size (use a transform that crops/resizes to a fixed size).</summary>
    public int? Height => null;
    public int? Width => null;
    public int NumClasses => classes.Length;
    public IReadOnlyList<string> ClassNames => classes;
    /// <summary>The file of item <paramref name="index"/>.</summary>
    public string PathOf(int index) => samples[Check(index)].Path;

    public (FloatImage Image, int Label) Get(int index)
    {
        var (path, label) = samples[Check(index)];
        return (Decode(path, Channels), label);
    }

    public int GetLabel(int index) => samples[Check(index)].Label;

    public string Describe(int index) => $"ImageFolder file '{samples[Check(index)].Path}'";

    /// <summary>Decodes one image file to float CHW in [0, 1] with <paramref name="channels"/> channels (1 or 3).</summary>
    /// <exception cref="InvalidDataException">The file cannot be decoded or converted; the message names it.</exception>
    public static FloatImage Decode(string path, int channels)
    {
        if (channels is not (1 or 3))
            throw new InvalidDataException($"{path}: cannot convert to {channels} channels; supported are 1 (grey) and 3 (RGB); alpha is dropped.");
        Image<Rgba32> image;
        try { image = Image.Load<Rgba32>(path); }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or NotSupportedException or ImageFormatException)
        {
            throw new InvalidDataException($"{path}: cannot decode the image ({e.Message}). Supported: JPEG, PNG, BMP, GIF, WebP, TIFF.", e);
        }
        using (image)
        {
            int h = image.Height, w = image.Width, plane = h * w;
            var data = new float[3 * plane];
            image.ProcessPixelRows(accessor =>
            {
                for (int y = 0; y < h; y++)
                {
                    var row = accessor.GetRowSpan(y);
                    for (int x = 0; x < w; x++)
                    {
                        var p = row[x];   // alpha (p.A) is dropped
                        data[y * w + x] = p.R / 255f;
                        data[plane + y * w + x] = p.G / 255f;
                        data[2 * plane + y * w + x] = p.B / 255f;
                    }
                }
            });
            return ChannelConversion.Convert(new FloatImage(3, h, w, data), channels, path);
        }
    }

    int Check(int index) => (uint)index < (uint)samples.Length ? index
        : throw new ArgumentOutOfRangeException(nameof(index), $"ImageFolder '{Root}': index {index} is outside 0..{samples.Length - 1}.");
}

// Writes images of a dataset (Fashion-MNIST or an ImageFolder) as an ImageFolder of PNGs at a model's size and
// channel count: the `export-images` command, which makes a small ImageFolder to try a model on.
using MaeDsl.IO;
using MaeDsl.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace MaeDsl.Cli;

/// <summary>Exports a dataset as an ImageFolder (root/NN-class/NNNNN.png).</summary>
internal static class ImageExport
{
    /// <summary>
    /// Writes <paramref name="limit"/> images of <paramref name="dataset"/> (all when null), balanced over the classes
    /// (the first ⌈limit / classes⌉ of each class in dataset order), as <c>output/&lt;label&gt;-&lt;class&gt;/&lt;index&gt;.png</c>,
    /// resized (bicubic) to <paramref name="size"/>×<paramref name="size"/>, grey (1 channel) or RGB (3) as the dataset gives
    /// them. Every class gets a folder with at least one image (ImageFolder refuses empty ones), and the label prefix keeps
    /// the class order when ImageFolder sorts the folders, so a train and a val export agree on labels. Returns the count.
    /// The images are written class by class in turn (one of each class, then the next of each), each file whole (AtomicFile),
    /// so that a stop (<paramref name="cancel"/>, between two images: <see cref="ExportStoppedException"/>) leaves a smaller
    /// balanced ImageFolder with no partial file.
    /// </summary>
    public static int Write(IImageDataset dataset, string output, int size, int? limit = null, CancellationToken cancel = default)
    {
        if (size < 1) throw new ArgumentException($"size = {size} is invalid: must be >= 1");
        if (dataset.Channels is not (1 or 3)) throw new ArgumentException(
            $"{dataset.Describe(0)}: only 1- or 3-channel images can be written as PNG, not {dataset.Channels}");
        int classes = dataset.NumClasses;
        if (limit is { } l && l < classes)
            throw new ArgumentException($"--limit = {l} is invalid: at least one image per class is needed ({classes} classes)");
        int quota = limit is { } n ? (n + classes - 1) / classes : int.MaxValue;
        var picked = new List<int>();
        var counts = new int[classes];
        for (int i = 0; i < dataset.Count && (limit is null || picked.Count < limit); i++)
        {
            int label = dataset.GetLabel(i);
            if (counts[label] < quota) { counts[label]++; picked.Add(i); }
        }
        if (Array.IndexOf(counts, 0) is var empty and >= 0)
            throw new ArgumentException($"{dataset.Describe(0)}: class '{dataset.ClassNames[empty]}' has no image to export");
        var c = System.Globalization.CultureInfo.InvariantCulture;
        int digits = Math.Max(2, (classes - 1).ToString(c).Length);
        var folders = dataset.ClassNames.Select((name, label) => Path.Combine(output, $"{label.ToString($"D{digits}", c)}-{Safe(name)}")).ToArray();
        var rank = new int[classes];
        var order = picked.Select(i => (Index: i, Label: dataset.GetLabel(i))).Select(x => (x.Index, x.Label, Rank: rank[x.Label]++))
            .OrderBy(x => x.Rank).ThenBy(x => x.Label).ToList();
        for (int k = 0; k < order.Count; k++)
        {
            if (cancel.IsCancellationRequested) throw new ExportStoppedException(k, order.Count, output, cancel);
            var (i, label, _) = order[k];
            var (image, _) = dataset.Get(i);
            Directory.CreateDirectory(folders[label]);
            if (image.Height != size || image.Width != size) image = Bicubic.Resize(image, size, size);
            AtomicFile.Write(Path.Combine(folders[label], $"{i:D5}.png"), Encode(image));
        }
        return picked.Count;
    }

    /// <summary>An export stopped between two images: <see cref="Written"/> of <see cref="Total"/> are in <see cref="Output"/>.</summary>
    public sealed class ExportStoppedException(int written, int total, string output, CancellationToken token)
        : OperationCanceledException($"export stopped after {written} of {total} images", token)
    {
        public int Written => written;
        public int Total => total;
        public string Output => output;
    }

    static Action<Stream> Encode(FloatImage image)
    {
        static byte Byte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f), 0f, 255f);
        if (image.Channels == 1)
        {
            var grey = new Image<L8>(image.Width, image.Height);
            for (int y = 0; y < image.Height; y++) for (int x = 0; x < image.Width; x++) grey[x, y] = new L8(Byte(image[0, y, x]));
            return s => { using (grey) grey.SaveAsPng(s, new PngEncoder { ColorType = PngColorType.Grayscale }); };
        }
        var rgb = new Image<Rgb24>(image.Width, image.Height);
        for (int y = 0; y < image.Height; y++) for (int x = 0; x < image.Width; x++) rgb[x, y] = new Rgb24(Byte(image[0, y, x]), Byte(image[1, y, x]),
            Byte(image[2, y, x]));
        return s => { using (rgb) rgb.SaveAsPng(s, new PngEncoder { ColorType = PngColorType.Rgb }); };
    }

    /// <summary>A class name as a folder name: letters and digits kept, everything else '-'.</summary>
    static string Safe(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray();
        string s = new string(chars).Trim('-');
        return s.Length == 0 ? "class" : s;
    }
}

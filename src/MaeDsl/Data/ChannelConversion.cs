// ChannelConversion: grey <-> RGB conversion of a dataset's images for a model's channel count.
namespace MaeDsl.Data;

/// <summary>
/// Channel conversion with ImageFolder's rules, for float images: grey → RGB by repetition, RGB → grey by luma
/// 0.299 R + 0.587 G + 0.114 B (exactly the grey value when R = G = B). Other combinations are refused.
/// </summary>
internal static class ChannelConversion
{
    /// <summary>True if <paramref name="from"/> channels can be converted to <paramref name="to"/>.</summary>
    public static bool CanConvert(int from, int to) => from == to || (from, to) is (1, 3) or (3, 1);

    /// <summary>Converts <paramref name="image"/> to <paramref name="channels"/> channels; <paramref name="what"/> names the image in errors.</summary>
    public static FloatImage Convert(FloatImage image, int channels, string what)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels == channels) return image;
        int plane = image.Height * image.Width;
        if (image.Channels == 1 && channels == 3)
        {
            var data = new float[3 * plane];
            for (int c = 0; c < 3; c++) Array.Copy(image.Data, 0, data, c * plane, plane);
            return new FloatImage(3, image.Height, image.Width, data);
        }
        if (image.Channels == 3 && channels == 1)
        {
            var data = new float[plane];
            var d = image.Data;
            for (int i = 0; i < plane; i++)
            {
                float r = d[i], g = d[plane + i], b = d[2 * plane + i];
                data[i] = r == g && g == b ? r : (float)(0.299 * r + 0.587 * g + 0.114 * b);
            }
            return new FloatImage(1, image.Height, image.Width, data);
        }
        throw new InvalidDataException(
            $"{what}: cannot convert {image.Channels} channels to {channels}; supported are grey → RGB (repeat) and RGB → grey (luma).");
    }
}

/// <summary>
/// Another dataset seen with a different channel count (e.g. Fashion-MNIST as RGB for a 3-channel ViT-B/16),
/// converted per item by <see cref="ChannelConversion"/>.
/// </summary>
internal sealed class ChannelConvertedDataset : IImageDataset
{
    /// <summary>Wraps <paramref name="source"/> so that <see cref="Get"/> returns <paramref name="channels"/> channels.</summary>
    public ChannelConvertedDataset(IImageDataset source, int channels)
    {
        Source = source ?? throw new ArgumentNullException(nameof(source));
        if (!ChannelConversion.CanConvert(source.Channels, channels))
            throw new ArgumentOutOfRangeException(nameof(channels),
                $"ChannelConvertedDataset: cannot convert {source.Channels}-channel images ({source.GetType().Name}) to {channels} channels; supported are " +
                    $"grey → RGB and RGB → grey.");
        Channels = channels;
    }

    /// <summary>The wrapped dataset.</summary>
    public IImageDataset Source { get; }
    public int Count => Source.Count;
    public int Channels { get; }
    public int? Height => Source.Height;
    public int? Width => Source.Width;
    public int NumClasses => Source.NumClasses;
    public IReadOnlyList<string> ClassNames => Source.ClassNames;
    public (FloatImage Image, int Label) Get(int index)
    {
        var (image, label) = Source.Get(index);
        return (ChannelConversion.Convert(image, Channels, Source.Describe(index)), label);
    }
    public int GetLabel(int index) => Source.GetLabel(index);
    public string Describe(int index) => $"{Source.Describe(index)} as {Channels} channels";
}

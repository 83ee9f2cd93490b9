// BufferSizes: checks that a batch's buffers fit a .NET array, a long and the memory available, before any work.
namespace MaeDsl.Data;

/// <summary>
/// The size checks of the buffers a batch needs (batch × channels × height × width floats): within a .NET array
/// (<see cref="Array.MaxLength"/> elements), within <c>long</c>, and within the memory the GC reports available
/// (<see cref="GC.GetGCMemoryInfo()"/>.TotalAvailableMemoryBytes). A refusal is one <see cref="ArgumentException"/>
/// that names the option (--batch), the shape and the largest batch that fits.
/// </summary>
internal static class BufferSizes
{
    /// <summary>The memory the GC can use (its heap hard limit, or the machine's/container's memory).</summary>
    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// Checks a float buffer of <paramref name="batch"/> × <paramref name="channels"/> × <paramref name="height"/> × <paramref name="width"/>,
    /// held <paramref name="copies"/> times at once (prefetched batches, the tensor built from them). Returns its element count.
    /// </summary>
    /// <exception cref="ArgumentException">It does not fit; the message names <paramref name="batchOption"/>.</exception>
    public static long CheckBatch(long batch, long channels, long height, long width, int copies = 1, string batchOption = "--batch",
        long? availableBytes = null)
    {
        if (batch < 1 || channels < 1 || height < 1 || width < 1)
            throw new ArgumentException($"{batchOption} {batch}: a batch of {batch}×{channels}×{height}×{width} must have positive sizes.");
        long perItem, elements;
        try
        {
            perItem = checked(channels * height * width);
            elements = checked(batch * perItem);
            _ = checked(elements * sizeof(float) * Math.Max(copies, 1));
        }
        catch (OverflowException)
        {
            throw new ArgumentException(
                $"{batchOption} {batch}: a batch of {batch}×{channels}×{height}×{width} floats overflows a 64-bit size; use a smaller {batchOption}.");
        }
        long maxByArray = Array.MaxLength / perItem;
        if (elements > Array.MaxLength)
            throw new ArgumentException(
                $"{batchOption} {batch}: a batch of {batch}×{channels}×{height}×{width} = {elements:N0} floats exceeds the largest .NET array " +
                $"({Array.MaxLength:N0} elements); " +
                $"the largest batch for {channels}×{height}×{width} images is {maxByArray} (use --accum to keep the effective batch).");
        long available = availableBytes ?? AvailableBytes;
        long bytes = elements * sizeof(float) * Math.Max(copies, 1);
        if (available > 0 && bytes > available)
        {
            long maxByMemory = available / (perItem * sizeof(float) * Math.Max(copies, 1));
            throw new ArgumentException(
                $"{batchOption} {batch}: the batch buffers ({Math.Max(copies, 1)} × {batch}×{channels}×{height}×{width} floats = {bytes / 1e9:F1} GB) exceed " +
                $"the {available / 1e9:F1} GB of memory available; " +
                $"the largest batch that fits is about {maxByMemory} (use --accum to keep the effective batch).");
        }
        return elements;
    }

    /// <summary>The side of the square images a transform produces (its last RandomResizedCrop or CenterCrop), or null when not fixed.</summary>
    public static int? OutputSide(IImageTransform? transform) => transform switch
    {
        RandomResizedCrop r => r.Size,
        CenterCrop c => c.Size,
        Compose c => c.Transforms.Select(OutputSide).LastOrDefault(s => s is not null),
        _ => null,
    };
}

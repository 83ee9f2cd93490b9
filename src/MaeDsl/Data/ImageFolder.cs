// ImageFolder: torchvision's ImageFolder (root/class/image) decoded with ImageSharp.
using MaeDsl.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
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
/// <para><b>The file system is not trusted.</b> Listing: class folders are the real sub-folders of the root; a
/// symlink to a folder is never followed, at any depth (neither out of the tree nor back into it: a loop such as
/// <c>a/loop -&gt; ..</c> cannot relabel or multiply images); a symlink to a regular file is followed; only regular files
/// are taken (a FIFO, device or socket named <c>x.png</c> is never opened, it would block). Each entry passed over is
/// recorded in <see cref="Skipped"/> with its reason, and <see cref="SkipSummary"/> is the one line to print.</para>
/// <para>Decoding: the header is read first (<c>Image.Identify</c>) and an image of more than <see cref="MaxPixels"/>
/// pixels is refused by name before any pixel is decoded; GIF and TIFF decode their first frame only; ImageSharp's
/// allocator refuses any single buffer beyond the cap (<see cref="DecoderConfiguration"/>). With
/// <c>checkImages: true</c> the constructor reads every header and skips (counts and names) the files that are broken or
/// too large, so the run goes on without them.</para>
/// </remarks>
public sealed class ImageFolder : IImageDataset
{
    /// <summary>File extensions that are loaded (case-insensitive); other files are ignored, like torchvision's IMG_EXTENSIONS.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"];

    readonly (string Path, int Label)[] samples;
    readonly string[] classes;
    readonly string[] missingClasses = [];
    readonly List<SkippedEntry> skipped = new();

    /// <summary>Lists the files under <paramref name="root"/>; nothing is decoded yet.</summary>
    /// <param name="root">Folder with one sub-folder per class.</param>
    /// <param name="channels">The model's channel count: 1 or 3.</param>
    /// <param name="checkImages">Read every file's header now and skip (count, name) those that are broken or larger than <see cref="MaxPixels"/>.</param>
    /// <param name="classes">The classes, in label order, of the split that defines them (the training split's
    /// <see cref="ClassNames"/>) for a held-out split: its folders map to labels by name, a class it lacks is allowed (listed in
    /// <see cref="MissingClasses"/>), and a folder that is not one of these classes is refused before anything is read.
    /// Null: this folder's own sub-folders, in ordinal order, are the classes.</param>
    /// <exception cref="InvalidDataException">With <paramref name="classes"/>: a class folder that is not one of them.</exception>
    public ImageFolder(string root, int channels = 3, bool checkImages = false, IReadOnlyList<string>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels),
                $"ImageFolder '{root}': cannot convert images to {channels} channels; supported are 1 (grey; RGB by luma 0.299/0.587/0.114) and 3 (RGB; grey " +
                    $"repeated). Alpha is always dropped.");
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"ImageFolder: root folder '{root}' does not exist (expected root/<class>/<image files>).");
        Root = Path.GetFullPath(root);
        Channels = channels;
        var classList = new List<string>();
        foreach (var dir in Directory.GetDirectories(Root).Order(StringComparer.Ordinal))
        {
            var kind = FileKinds.Of(dir);
            if (kind == FileKind.Directory) classList.Add(Path.GetFileName(dir));
            else Skip(dir, $"{FileKinds.Describe(kind)} to a folder, not followed");
        }
        if (classList.Count == 0)
            throw new DirectoryNotFoundException(
                $"ImageFolder: '{Root}' has no class sub-folders (expected root/<class>/<image files>){(skipped.Count > 0 ? "; " + SkipSummary : "")}.");
        if (classes is not null)
        {
            var known = classes.ToHashSet(StringComparer.Ordinal);
            var extra = classList.Where(c => !known.Contains(c)).ToList();
            if (extra.Count > 0)
                throw new InvalidDataException(
                    $"ImageFolder '{Root}': class folder{(extra.Count > 1 ? "s" : "")} " +
                        $"{string.Join(", ", extra.Take(5).Select(c => $"'{c}'"))}{(extra.Count > 5 ? $" and {extra.Count - 5} more" : "")} " +
                    $"{(extra.Count > 1 ? "are" : "is")} not among the {classes.Count} classes of the training split ({Few(classes)}); " +
                    "a held-out split may lack classes of the training split but not add any (its labels would not exist in training)");
            var present = classList.ToHashSet(StringComparer.Ordinal);
            missingClasses = classes.Where(c => !present.Contains(c)).ToArray();
        }
        this.classes = classes?.ToArray() ?? classList.ToArray();
        var list = new List<(string, int)>();
        for (int label = 0; label < this.classes.Length; label++)
        {
            if (missingClasses.Contains(this.classes[label])) continue;   // a class this held-out split lacks: its label has no image here
            string classDir = Path.Combine(Root, this.classes[label]);
            int before = list.Count;
            var dirs = new List<string>();
            CollectFolders(classDir, dirs);
            foreach (var dir in dirs.Append(classDir).Order(StringComparer.Ordinal))
            {
                string[] files;
                try { files = Directory.GetFiles(dir); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Skip(dir, $"folder cannot be listed ({e.Message})"); continue; }
                foreach (var file in files.Where(IsImageFile).Order(StringComparer.Ordinal))
                    if (Admit(file, checkImages)) list.Add((file, label));
            }
            if (list.Count == before)
                throw new FileNotFoundException(
                    $"ImageFolder: class folder '{classDir}' holds no image file (extensions: " +
                        $"{string.Join(", ", Extensions)}){(skipped.Count > 0 ? "; " + SkipSummary : "")}.", classDir);
        }
        samples = list.ToArray();
    }

    /// <summary>The classes (given to the constructor) that this folder has no sub-folder for: their labels have no image here.</summary>
    public IReadOnlyList<string> MissingClasses => missingClasses;

    static string Few(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(6).Select(c => $"'{c}'")) + (names.Count > 6 ? $", … {names.Count - 6} more" : "");

    /// <summary>An entry of the tree that was passed over, and why.</summary>
    public sealed record SkippedEntry(string Path, string Reason);

    /// <summary>Every entry passed over while listing (folder symlinks, special files, dangling links, unreadable folders; with checkImages, broken or
    /// oversized images).</summary>
    public IReadOnlyList<SkippedEntry> Skipped => skipped;

    /// <summary>One line for the user: how many entries were skipped, by reason, and the first of them; null when none was.</summary>
    public string? SkipSummary => skipped.Count == 0 ? null
        : $"ImageFolder '{Root}': skipped {skipped.Count} entr{(skipped.Count == 1 ? "y" : "ies")} (" +
          string.Join(", ", skipped.GroupBy(s => ReasonKind(s.Reason)).Select(g => $"{g.Count()} {g.Key}")) +
          $"); first: {skipped[0].Path} ({skipped[0].Reason})";

    static string ReasonKind(string reason) => reason.Split(" (")[0].Split(", ")[0].Split(":")[0];

    void Skip(string path, string reason) => skipped.Add(new SkippedEntry(path, reason));

    // Real sub-folders only: a symlink to a folder is recorded and not followed, so no loop and no way out of the tree.
    void CollectFolders(string dir, List<string> into)
    {
        string[] subs;
        try { subs = Directory.GetDirectories(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Skip(dir, $"folder cannot be listed ({e.Message})"); return; }
        foreach (var sub in subs)
        {
            var kind = FileKinds.Of(sub);
            if (kind == FileKind.Directory) { into.Add(sub); CollectFolders(sub, into); }
            else Skip(sub, $"{FileKinds.Describe(kind)} to a folder, not followed");
        }
    }

    bool Admit(string file, bool checkImages)
    {
        var kind = FileKinds.Of(file);
        if (kind == FileKind.Symlink)
        {
            var target = FileKinds.Of(file, followLinks: true);
            if (target == FileKind.Missing) { Skip(file, "dangling symlink"); return false; }
            if (target != FileKind.Regular) { Skip(file, $"symlink to a {FileKinds.Describe(target)}, not a regular file"); return false; }
        }
        else if (kind == FileKind.Missing && file.Contains('\uFFFD'))
        {
            // .NET decodes a file name that is not valid UTF-8 with U+FFFD in place of the bad bytes, and cannot open it by that name
            Skip(file, "name is not valid UTF-8, which .NET cannot open by name; rename the file (e.g. convmv -f latin1 -t utf-8)");
            return false;
        }
        else if (kind != FileKind.Regular)
        {
            Skip(file, $"{FileKinds.Describe(kind)}, not a regular file");
            return false;
        }
        if (!checkImages) return true;
        try { Identify(file); return true; }
        catch (InvalidDataException e) { Skip(file, "broken or oversized image: " + e.Message); return false; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Skip(file, "unreadable: " + e.Message); return false; }
    }

    // ---- decode limits ----

    static long maxPixels = 40_000_000;
    static Configuration? configuration;

    /// <summary>
    /// The largest image accepted, in pixels (width × height of the first frame), checked from the header before decoding.
    /// Default 40,000,000 (e.g. 6324×6324; about 640 MB while decoding and converting). Set it before decoding starts.
    /// </summary>
    public static long MaxPixels
    {
        get => Interlocked.Read(ref maxPixels);
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "ImageFolder.MaxPixels must be positive.");
            Interlocked.Exchange(ref maxPixels, value);
            Interlocked.Exchange(ref configuration, null);
        }
    }

    /// <summary>
    /// The ImageSharp configuration every decode uses: GIF and TIFF decode the first frame only, the allocator keeps a
    /// pool of at most 64 MB and refuses any single buffer beyond 4 bytes × <see cref="MaxPixels"/> (at least 256 MB).
    /// </summary>
    public static Configuration DecoderConfiguration
    {
        get
        {
            var c = Volatile.Read(ref configuration);
            if (c is not null) return c;
            c = Configuration.Default.Clone();
            c.MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions
            {
                MaximumPoolSizeMegabytes = 64,
                AllocationLimitMegabytes = (int)Math.Clamp(MaxPixels * 4 / (1024 * 1024) + 1, 256, int.MaxValue),
            });
            c.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
            c.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
            Interlocked.CompareExchange(ref configuration, c, null);
            return Volatile.Read(ref configuration)!;
        }
    }

    /// <summary>Reads <paramref name="path"/>'s header: its width and height; refuses an unknown format or an image beyond <see cref="MaxPixels"/>.</summary>
    /// <exception cref="InvalidDataException">Not a decodable image, or too large; the message names the file.</exception>
    public static (int Width, int Height) Identify(string path)
    {
        using var stream = OpenRegular(path);
        return IdentifyCore(stream, path);
    }

    static (int Width, int Height) IdentifyCore(Stream stream, string path)
    {
        IImageInfo? info;
        try { info = Image.Identify(DecoderConfiguration, stream); }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or NotSupportedException or ImageFormatException
                                   or InvalidMemoryOperationException or ArgumentException or IndexOutOfRangeException or OverflowException)
        {
            throw new InvalidDataException($"{path}: cannot read the image header ({e.Message}). Supported: JPEG, PNG, BMP, GIF, WebP, TIFF.", e);
        }
        if (info is null)
            throw new InvalidDataException($"{path}: not an image of a known format. Supported: JPEG, PNG, BMP, GIF, WebP, TIFF.");
        long pixels = (long)info.Width * info.Height;
        if (info.Width < 1 || info.Height < 1)
            throw new InvalidDataException($"{path}: the header gives a {info.Width}×{info.Height} image; expected positive sizes.");
        if (pixels > MaxPixels)
            throw new InvalidDataException(
                $"{path}: the header gives a {info.Width}×{info.Height} image ({pixels:N0} pixels), more than ImageFolder.MaxPixels = {MaxPixels:N0}; " +
                $"refused before decoding.");
        return (info.Width, info.Height);
    }

    // Opens only a regular file (or a symlink to one): a FIFO would block the reader forever, a device never ends.
    static FileStream OpenRegular(string path)
    {
        var kind = FileKinds.Of(path, followLinks: true);
        if (kind == FileKind.Missing) throw new FileNotFoundException($"{path}: image file not found", path);
        if (kind != FileKind.Regular)
            throw new InvalidDataException($"{path}: a {FileKinds.Describe(kind)}, not a regular file; refused without opening it.");
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
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
        using (var stream = OpenRegular(path))
        {
            IdentifyCore(stream, path);
            stream.Position = 0;
            try { image = Image.Load<Rgba32>(DecoderConfiguration, stream); }
            catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or NotSupportedException or ImageFormatException
                                       or InvalidMemoryOperationException or ArgumentException or IndexOutOfRangeException or OverflowException)
            {
                throw new InvalidDataException($"{path}: cannot decode the image ({e.Message}). Supported: JPEG, PNG, BMP, GIF, WebP, TIFF.", e);
            }
        }
        using (image)
        {
            int h = image.Height, w = image.Width, plane = checked(h * w);
            var data = new float[checked(3L * plane)];
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

using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Data;

/// <summary>
/// Reads root/&lt;split&gt;/&lt;class&gt;/*.{png,jpg,jpeg} (the Imagenette layout: train/ and val/; test/ is
/// also accepted for the test split). Classes are the sub-folder names of train/ in ordinal order, the same labels
/// for every split; an evaluation split may lack a class, but a class train/ does not have is an error. Images are
/// decoded with SkiaSharp to RGB and stored as uint8 at one size: <c>imageSize</c> x
/// <c>imageSize</c> (shorter side resized with antialiasing, then centre crop) when given,
/// otherwise their own size, which must then be the same for all images.
/// Samples are ordered round-robin over classes (class 0 image 0, class 1 image 0, ...), so the
/// first N samples (--limit) cover the classes evenly.
/// </summary>
public static class ImageFolderReader
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    public static ImageDataset Read(string root, DatasetSplit split, int? imageSize = null, int? limit = null)
    {
        if (!Directory.Exists(root))
            throw new DatasetException($"{root}: directory not found");
        var candidates = split == DatasetSplit.Train ? new[] { "train" } : ["val", "test"];
        var splitDir = candidates.Select(c => Path.Combine(root, c)).FirstOrDefault(Directory.Exists)
            ?? throw new DatasetException($"{root}: no {string.Join(" or ", candidates.Select(c => c + "/"))} folder (expected root/<split>/<class>/*.png|jpg)");

        var classDirs = ClassFolders(splitDir);
        if (classDirs.Length == 0)
            throw new DatasetException($"{splitDir}: no class folders");
        // Labels are indices into the train split's classes, whichever split is read, so a class missing from val/
        // does not shift the labels of the classes after it.
        var trainDir = Path.Combine(root, "train");
        var classNames = (Directory.Exists(trainDir) ? ClassFolders(trainDir) : classDirs).Select(d => Path.GetFileName(d)).ToArray();
        if (classNames.Length == 0)
            throw new DatasetException($"{trainDir}: no class folders");
        var labelOf = classNames.Select((name, i) => (name, i)).ToDictionary(t => t.name, t => (long)t.i, StringComparer.Ordinal);
        foreach (var dir in classDirs)
            if (!labelOf.ContainsKey(Path.GetFileName(dir)))
                throw new DatasetException(
                    $"{dir}: class '{Path.GetFileName(dir)}' is not one of the {classNames.Length} classes of {trainDir} ({string.Join(", ", classNames.Take(10))}{(classNames.Length > 10 ? ", ..." : "")})");
        var perClass = new List<string[]>();
        foreach (var dir in classDirs)
        {
            var files = Directory.GetFiles(dir)
                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
                .ToArray();
            if (files.Length == 0)
                throw new DatasetException($"{dir}: empty class folder (no .png, .jpg or .jpeg images)");
            perClass.Add(files);
        }

        var samples = new List<(string File, long Label)>();
        for (var rank = 0; samples.Count < perClass.Sum(f => f.Length); rank++)
            for (var c = 0; c < perClass.Count; c++)
                if (rank < perClass[c].Length) samples.Add((perClass[c][rank], labelOf[Path.GetFileName(classDirs[c])]));
        if (limit is { } n && n < samples.Count)
            samples = samples.Take(n).ToList();

        if (imageSize is { } target && (long)samples.Count * 3 * target * target > Array.MaxLength)
            throw new DatasetException(
                $"{splitDir}: {samples.Count} images of 3x{target}x{target} exceed the 2 GB in-memory limit; use --limit or a smaller --image-size");
        var decoded = new byte[samples.Count][];
        var sizes = new (int Height, int Width)[samples.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) };
        var errors = new DatasetException?[samples.Count];
        Parallel.For(0, samples.Count, options, (i, state) =>
        {
            try
            {
                var (pixels, h, w) = DecodeRgb(samples[i].File);
                if (imageSize is { } size && (h != size || w != size))
                {
                    pixels = ResizeToSquare(pixels, h, w, size);
                    (h, w) = (size, size);
                }
                decoded[i] = pixels;
                sizes[i] = (h, w);
            }
            catch (DatasetException e)
            {
                errors[i] = e;
                state.Stop();
            }
        });
        if (errors.FirstOrDefault(e => e is not null) is { } error)
            throw error;

        var (height, width) = sizes.Length > 0 ? sizes[0] : (imageSize ?? 0, imageSize ?? 0);
        for (var i = 1; i < sizes.Length; i++)
            if (sizes[i] != sizes[0])
                throw new DatasetException(
                    $"{samples[i].File}: image is {sizes[i].Width}x{sizes[i].Height} but {samples[0].File} is {width}x{height}; give an image size (--image-size N) to resize on load");

        var plane = 3 * height * width;
        if ((long)samples.Count * plane > Array.MaxLength)
            throw new DatasetException(
                $"{splitDir}: {samples.Count} images of 3x{height}x{width} exceed the 2 GB in-memory limit; use --limit or a smaller --image-size");
        var all = new byte[(long)samples.Count * plane];
        for (var i = 0; i < samples.Count; i++)
            Buffer.BlockCopy(decoded[i], 0, all, i * plane, plane);
        var labels = samples.Select(s => s.Label).ToArray();
        var name = $"{Path.GetFileName(Path.TrimEndingDirectorySeparator(root))}/{Path.GetFileName(splitDir)}";
        return ImageDataset.FromPixels(name, all, samples.Count, 3, height, width, labels, classNames);
    }

    /// <summary>Largest image decoded: 16384 x 16384 pixels.</summary>
    public const long MaxPixels = 16384L * 16384;

    /// <summary>
    /// The size in an image header is only a claim: a 300-byte file may declare 60000 x 60000 pixels. Refuse what the
    /// file cannot plausibly hold (deflate and JPEG expand at most about a thousandfold; 2048 bytes of pixels per
    /// byte of file, with 16 MB always allowed) before the decoder allocates for it.
    /// </summary>
    private static void CheckDeclaredSize(string file, int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new DatasetException($"{file}: unreadable image (declares {width}x{height} pixels)");
        var pixels = (long)width * height;
        if (pixels > MaxPixels)
            throw new DatasetException($"{file}: image declares {width}x{height} pixels, more than the {MaxPixels} pixel limit");
        var length = new FileInfo(file).Length;
        if (4 * pixels > Math.Max(16L << 20, 2048 * length))
            throw new DatasetException($"{file}: image declares {width}x{height} pixels, more than its {length} bytes can hold (corrupt header?)");
    }

    private static string[] ClassFolders(string splitDir) =>
        Directory.GetDirectories(splitDir).OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).ToArray();

    /// <summary>Decodes a PNG or JPEG to planar RGB bytes (C,H,W); alpha is dropped, grey is repeated.</summary>
    public static (byte[] Pixels, int Height, int Width) DecodeRgb(string file)
    {
        SKBitmap? bitmap;
        try
        {
            using var codec = SKCodec.Create(file);
            if (codec is null)
                throw new DatasetException($"{file}: unreadable image (not a PNG/JPEG SkiaSharp can decode)");
            CheckDeclaredSize(file, codec.Info.Width, codec.Info.Height);
            var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            try
            {
                bitmap = new SKBitmap(info);
            }
            catch (Exception e) when (e is not DatasetException)
            {
                throw new DatasetException($"{file}: cannot allocate a {info.Width}x{info.Height} image ({e.Message})", e);
            }
            var result = codec.GetPixels(info, bitmap.GetPixels());
            if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput) || info.Width <= 0 || info.Height <= 0)
            {
                bitmap.Dispose();
                throw new DatasetException($"{file}: unreadable image ({result})");
            }
            if (result == SKCodecResult.IncompleteInput)
            {
                bitmap.Dispose();
                throw new DatasetException($"{file}: unreadable image (truncated)");
            }
        }
        catch (IOException e)
        {
            throw new DatasetException($"{file}: cannot read ({e.Message})", e);
        }

        using (bitmap)
        {
            var h = bitmap.Height;
            var w = bitmap.Width;
            var rgba = bitmap.GetPixelSpan();
            var plane = h * w;
            var pixels = new byte[3 * plane];
            for (var p = 0; p < plane; p++)
            {
                pixels[p] = rgba[4 * p];
                pixels[plane + p] = rgba[4 * p + 1];
                pixels[2 * plane + p] = rgba[4 * p + 2];
            }
            return (pixels, h, w);
        }
    }

    private static byte[] ResizeToSquare(byte[] pixels, int height, int width, int size)
    {
        using var scope = NewDisposeScope();
        var image = tensor(pixels, [1, 3, height, width], ScalarType.Byte).to_type(ScalarType.Float32).div_(255.0);
        var resized = Transforms.ResizeShorterSideAndCenterCrop(image, size);
        var bytes = resized.mul_(255.0).round_().clamp_(0, 255).to_type(ScalarType.Byte);
        return bytes.data<byte>().ToArray();
    }
}

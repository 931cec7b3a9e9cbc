using SkiaSharp;

namespace AdaptSharp.Data;

/// <summary>
/// A PNG grid of the first few images of each class (one row per class, class name on the left):
/// the quickest check that a new dataset decodes, is labelled and oriented as expected.
/// </summary>
internal static class ContactSheet
{
    private const int LabelWidth = 120;
    private const int Gap = 2;

    /// <summary>
    /// Writes the sheet to <paramref name="path"/> (via a temporary file, so no half-written PNG is left).
    /// Small images are enlarged (nearest neighbour, whole multiples) to about 64 px; large ones shrunk to 96 px.
    /// </summary>
    public static void Write(ImageDataset data, string path, int perClass = 8)
    {
        if (perClass <= 0) throw new ArgumentOutOfRangeException(nameof(perClass), "images per class must be positive");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir))
            throw new DatasetException($"{dir}: directory not found (for the contact sheet {path})");

        var (cellW, cellH, upscaling) = CellSize(data.Height, data.Width);
        var rows = data.NumClasses;
        var labels = data.Labels.data<long>().ToArray();
        var picks = new List<int>[rows];
        for (var c = 0; c < rows; c++) picks[c] = new List<int>(perClass);
        for (var i = 0; i < labels.Length; i++)
            if (labels[i] >= 0 && labels[i] < rows && picks[labels[i]].Count < perClass)
                picks[labels[i]].Add(i);

        var width = LabelWidth + perClass * (cellW + Gap) + Gap;
        var height = rows * (cellH + Gap) + Gap;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new DatasetException($"{path}: contact sheet of {width}x{height} pixels is too large");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 12);
        using var textPaint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        var sampling = upscaling
            ? new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None)
            : new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);

        var plane = data.Height * data.Width;
        for (var c = 0; c < rows; c++)
        {
            var top = Gap + c * (cellH + Gap);
            var name = data.ClassNames[c];
            canvas.DrawText($"{c}: {name}", 4, top + cellH / 2f + 4, SKTextAlign.Left, font, textPaint);
            for (var k = 0; k < picks[c].Count; k++)
            {
                var index = picks[c][k];
                using var imageTensor = data.Images[index];
                var pixels = imageTensor.data<byte>().ToArray();
                using var bitmap = new SKBitmap(new SKImageInfo(data.Width, data.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
                var rgba = bitmap.GetPixelSpan();
                for (var p = 0; p < plane; p++)
                {
                    var r = pixels[p];
                    var g = data.Channels == 3 ? pixels[plane + p] : r;
                    var b = data.Channels == 3 ? pixels[2 * plane + p] : r;
                    rgba[4 * p] = r;
                    rgba[4 * p + 1] = g;
                    rgba[4 * p + 2] = b;
                    rgba[4 * p + 3] = 255;
                }
                using var image = SKImage.FromBitmap(bitmap);
                var left = LabelWidth + Gap + k * (cellW + Gap);
                canvas.DrawImage(image, SKRect.Create(left, top, cellW, cellH), sampling);
            }
        }

        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        var temp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var file = File.Create(temp))
                png.SaveTo(file);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp);
            throw new DatasetException($"{path}: cannot write contact sheet ({e.Message})", e);
        }
    }

    private static (int Width, int Height, bool Upscaling) CellSize(int height, int width)
    {
        var longest = Math.Max(height, width);
        if (longest < 64)
        {
            var scale = Math.Max(1, (int)Math.Round(64.0 / longest));
            return (width * scale, height * scale, true);
        }
        if (longest <= 96) return (width, height, false);
        var shrink = 96.0 / longest;
        return (Math.Max(1, (int)(width * shrink)), Math.Max(1, (int)(height * shrink)), false);
    }
}

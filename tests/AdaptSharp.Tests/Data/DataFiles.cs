using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using SkiaSharp;

namespace AdaptSharp.Tests.Data;

/// <summary>Writes small datasets in each supported on-disk format for the reader tests.</summary>
internal static class DataFiles
{
    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "adaptsharp-data-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Deterministic pixel value for (image, channel, y, x).</summary>
    public static byte Pixel(int image, int channel, int y, int x) => (byte)((image * 31 + channel * 71 + y * 7 + x * 3) % 256);

    public static byte[] IdxImages(int count, int height, int width)
    {
        var bytes = new byte[16 + count * height * width];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), 0x0803);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), height);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), width);
        var p = 16;
        for (var i = 0; i < count; i++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    bytes[p++] = Pixel(i, 0, y, x);
        return bytes;
    }

    public static byte[] IdxLabels(int count, int classes = 10)
    {
        var bytes = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), 0x0801);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        for (var i = 0; i < count; i++) bytes[8 + i] = (byte)(i % classes);
        return bytes;
    }

    public static void Write(string path, byte[] bytes, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }
        using var file = File.Create(path);
        using var z = new GZipStream(file, CompressionLevel.Fastest);
        z.Write(bytes);
    }

    /// <summary>An MNIST-style folder with train (trainCount) and t10k (testCount) files.</summary>
    public static string IdxDataset(int trainCount, int testCount, bool gzip, int size = 8)
    {
        var dir = NewTempDir();
        var ext = gzip ? ".gz" : string.Empty;
        Write(Path.Combine(dir, "train-images-idx3-ubyte" + ext), IdxImages(trainCount, size, size), gzip);
        Write(Path.Combine(dir, "train-labels-idx1-ubyte" + ext), IdxLabels(trainCount), gzip);
        Write(Path.Combine(dir, "t10k-images-idx3-ubyte" + ext), IdxImages(testCount, size, size), gzip);
        Write(Path.Combine(dir, "t10k-labels-idx1-ubyte" + ext), IdxLabels(testCount), gzip);
        return dir;
    }

    /// <summary>CIFAR records: [coarse,] label, then 3x32x32 planar pixels. Image ids start at firstImage.</summary>
    public static byte[] CifarRecords(int count, bool cifar100, int firstImage)
    {
        var record = 3072 + (cifar100 ? 2 : 1);
        var bytes = new byte[count * record];
        for (var i = 0; i < count; i++)
        {
            var id = firstImage + i;
            var o = i * record;
            if (cifar100)
            {
                bytes[o++] = (byte)(id % 20);
                bytes[o++] = (byte)(id % 100);
            }
            else
            {
                bytes[o++] = (byte)(id % 10);
            }
            for (var c = 0; c < 3; c++)
                for (var y = 0; y < 32; y++)
                    for (var x = 0; x < 32; x++)
                        bytes[o++] = Pixel(id, c, y, x);
        }
        return bytes;
    }

    /// <summary>Files of a CIFAR binary version (name -> bytes): perBatch images per train batch, testCount test images.</summary>
    public static Dictionary<string, byte[]> CifarFiles(bool cifar100, int perBatch, int testCount)
    {
        var files = new Dictionary<string, byte[]>();
        if (cifar100)
        {
            files["train.bin"] = CifarRecords(perBatch * 5, true, 0);
            files["test.bin"] = CifarRecords(testCount, true, 1000);
            files["fine_label_names.txt"] = System.Text.Encoding.UTF8.GetBytes(string.Join("\n", Enumerable.Range(0, 100).Select(i => $"fine{i}")) + "\n");
            files["coarse_label_names.txt"] = System.Text.Encoding.UTF8.GetBytes(string.Join("\n", Enumerable.Range(0, 20).Select(i => $"coarse{i}")) + "\n");
        }
        else
        {
            for (var b = 1; b <= 5; b++)
                files[$"data_batch_{b}.bin"] = CifarRecords(perBatch, false, (b - 1) * perBatch);
            files["test_batch.bin"] = CifarRecords(testCount, false, 1000);
            files["batches.meta.txt"] = System.Text.Encoding.UTF8.GetBytes("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
        }
        return files;
    }

    public static string CifarDirectory(Dictionary<string, byte[]> files, string? subfolder = null)
    {
        var root = NewTempDir();
        var dir = subfolder is null ? root : Path.Combine(root, subfolder);
        Directory.CreateDirectory(dir);
        foreach (var (name, bytes) in files) File.WriteAllBytes(Path.Combine(dir, name), bytes);
        return root;
    }

    public static string CifarArchive(Dictionary<string, byte[]> files, string folder)
    {
        var path = Path.Combine(NewTempDir(), folder + ".tar.gz");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, folder + "/"));
        foreach (var (name, bytes) in files)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, $"{folder}/{name}") { DataStream = new MemoryStream(bytes) };
            tar.WriteEntry(entry);
        }
        return path;
    }

    /// <summary>An RGB image whose pixel (x, y) is (r0 + x, g0 + y, b0), saved as PNG or JPEG.</summary>
    public static void WriteImage(string path, int width, int height, byte r0, byte g0, byte b0)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(r0 + x), (byte)(g0 + y), b0));
        var format = path.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg;
        using var data = bitmap.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
    }
}

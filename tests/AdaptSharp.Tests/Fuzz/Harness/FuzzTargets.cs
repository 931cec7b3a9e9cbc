using System.Buffers.Binary;
using System.Formats.Tar;
using System.Text;
using AdaptSharp.Checkpoints;
using AdaptSharp.Data;
using AdaptSharp.Models;
using SkiaSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Fuzzing;

/// <summary>Every reader of untrusted bytes, with small valid seed files built in memory (deterministically).</summary>
public static class FuzzTargets
{
    private static readonly Lazy<IReadOnlyList<FuzzTarget>> Lazy = new(Build);

    public static IReadOnlyList<FuzzTarget> All => Lazy.Value;

    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"no fuzz target '{name}' (targets: {string.Join(", ", All.Select(t => t.Name))})");

    private static byte[][] Ascii(params string[] tokens) => tokens.Select(Encoding.UTF8.GetBytes).ToArray();

    private static IReadOnlyList<FuzzTarget> Build()
    {
        var jsonTokens = Ascii("{", "}", "[", "]", "\"", ",", ":", "null", "-1", "0", "1e400", "99999999999999999999",
            "18446744073709551615", "\"dtype\":\"F32\"", "\"shape\":[", "\"data_offsets\":[", "\"__metadata__\":",
            "\\ud800", "\\u0000", "\"F16\"", "\"BF16\"", "\"I64\"", "\"BOOL\"", "{\"ImageSize\":", "\"Width\":-5", "deep:", "shallow:0");
        var npyTokens = Ascii("{", "}", "(", ")", ",", "'", ":", " ", "'<f4'", "'<f8'", "'|u1'", "'>f4'", "'<c8'", "True",
            "False", "'shape'", "'descr'", "'fortran_order'", "99999999999999999999", "4294967296", "0", "1L", "\n");
        return
        [
            new("safetensors", "model.safetensors", [Backbone(), PlainSafetensors()], ParseSafetensors,
                typeof(CheckpointFormatException), jsonTokens),
            new("prompt-file", "prompts.safetensors", [PromptFileSeed()], ParsePromptFile,
                typeof(CheckpointFormatException), jsonTokens),
            new("npy", "input.npy", NpySeeds(), path => { using var t = NpyFile.Read(path); return t.numel() * t.element_size(); },
                typeof(CheckpointFormatException), npyTokens),
            new("idx-images", "images-idx3-ubyte", [IdxImages(3, 5, 4)], path => IdxReader.ReadImages(path).Pixels.LongLength,
                typeof(DatasetException), []),
            new("idx-labels", "labels-idx1-ubyte", [IdxLabels(7)], path => IdxReader.ReadLabels(path).LongLength,
                typeof(DatasetException), []),
            new("idx-images.gz", "images-idx3-ubyte.gz", [FuzzContract.Gzip(IdxImages(3, 5, 4))], path => IdxReader.ReadImages(path).Pixels.LongLength,
                typeof(DatasetException), [], GzipInner: true),
            new("cifar-bin", "test_batch.bin", [CifarRecords(2)], ParseCifarFolder, typeof(DatasetException), []),
            new("cifar-tar.gz", "cifar-10-binary.tar.gz", [FuzzContract.Gzip(CifarTar())], ParseCifarArchive,
                typeof(DatasetException), Ascii("ustar", "00", "0000644", "77777777777", "test_batch.bin", "batches.meta.txt"), GzipInner: true),
            new("image", "image.png", [Png(SKColorType.Rgba8888), Png(SKColorType.Gray8), Jpeg()], path => ImageFolderReader.DecodeRgb(path).Pixels.LongLength,
                typeof(DatasetException), Ascii("IHDR", "IDAT", "IEND", "PLTE", "tRNS", "\xff\xd8", "\xff\xc0", "\xff\xda")),
        ];
    }

    private static long ParseSafetensors(string path)
    {
        using var reader = SafetensorsReader.Open(path);
        var tensors = reader.ReadAll(ScalarType.Float32);
        var bytes = tensors.Values.Sum(t => t.numel() * t.element_size());
        foreach (var t in tensors.Values) t.Dispose();
        BackboneFile.ReadConfig(path); // the metadata JSON (model config)
        return bytes;
    }

    private static long ParsePromptFile(string path)
    {
        PromptFile.ReadInfo(path); // metadata JSON: config, prompt layout, trainable set, fingerprint
        using var reader = SafetensorsReader.Open(path);
        var tensors = reader.ReadAll();
        var bytes = tensors.Values.Sum(t => t.numel() * t.element_size());
        foreach (var t in tensors.Values) t.Dispose();
        return bytes;
    }

    private static long ParseCifarFolder(string path)
    {
        using var data = CifarReader.Read(Path.GetDirectoryName(path)!, cifar100: false, DatasetSplit.Test);
        return data.Images.numel();
    }

    private static long ParseCifarArchive(string path)
    {
        using var data = CifarReader.Read(path, cifar100: false, DatasetSplit.Test);
        return data.Images.numel();
    }

    private static VitConfig TinyConfig() => new()
    {
        Name = "fuzz-tiny",
        ImageSize = 8,
        PatchSize = 4,
        InChannels = 3,
        Width = 8,
        Depth = 1,
        Heads = 2,
        MlpRatio = 1,
        NumClasses = 3,
    };

    private static byte[] InTempFile(Action<string> write)
    {
        var path = Path.Combine(Path.GetTempPath(), $"adapt-fuzz-seed-{Guid.NewGuid():N}");
        try
        {
            write(path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Backbone() => InTempFile(path =>
    {
        using var model = new VisionTransformer(TinyConfig(), PromptConfig.None, seed: 1);
        BackboneFile.Save(path, model);
    });

    private static byte[] PlainSafetensors() => InTempFile(path =>
    {
        using var a = arange(6, dtype: ScalarType.Float16).reshape(2, 3);
        using var b = arange(3, dtype: ScalarType.Int64);
        using var c = tensor(new[] { true, false });
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b, ["c"] = c }, new Dictionary<string, string> { ["k"] = "v" });
    });

    private static byte[] PromptFileSeed() => InTempFile(path =>
    {
        using var model = new VisionTransformer(TinyConfig(), PromptConfig.Parse("deep:2"), seed: 1);
        PromptFile.Save(path, model, new PromptFileInfo { BackboneFingerprint = new string('a', 64), Trainable = TrainableSet.Prompts | TrainableSet.Head });
    });

    private static byte[][] NpySeeds()
    {
        byte[] Of(Tensor t)
        {
            using (t)
            {
                using var memory = new MemoryStream();
                NpyFile.Write(memory, t);
                return memory.ToArray();
            }
        }
        var v3 = Of(arange(4, dtype: ScalarType.Int32));
        v3[6] = 3; // format 3.0 (UTF-8 header), same layout as 1.0 with a 4-byte header length below
        var v3Header = v3.AsSpan(10).ToArray();
        var headerLength = BinaryPrimitives.ReadUInt16LittleEndian(v3.AsSpan(8));
        var converted = new byte[12 + v3Header.Length];
        v3.AsSpan(0, 8).CopyTo(converted);
        BinaryPrimitives.WriteUInt32LittleEndian(converted.AsSpan(8), (uint)headerLength);
        v3Header.CopyTo(converted, 12);
        return
        [
            Of(linspace(0, 1, 2 * 3 * 4 * 4).reshape(2, 3, 4, 4)),
            Of(arange(12, dtype: ScalarType.Byte).reshape(3, 4)),
            Of(arange(3, dtype: ScalarType.Int64)),
            Of(zeros(0, 3, 2, 2)),
            Of(tensor(2.5)),
            converted,
        ];
    }

    public static byte[] IdxImages(int count, int height, int width)
    {
        var bytes = new byte[16 + count * height * width];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), 0x0803);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), height);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), width);
        for (var i = 16; i < bytes.Length; i++) bytes[i] = (byte)(i * 7);
        return bytes;
    }

    public static byte[] IdxLabels(int count)
    {
        var bytes = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), 0x0801);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        for (var i = 0; i < count; i++) bytes[8 + i] = (byte)(i % 10);
        return bytes;
    }

    private static byte[] CifarRecords(int count)
    {
        var bytes = new byte[count * 3073];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 13);
        for (var r = 0; r < count; r++) bytes[r * 3073] = (byte)(r % 10);
        return bytes;
    }

    private static byte[] CifarTar()
    {
        using var memory = new MemoryStream();
        using (var tar = new TarWriter(memory, TarEntryFormat.Ustar, leaveOpen: true))
        {
            var time = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
            tar.WriteEntry(new UstarTarEntry(TarEntryType.Directory, "cifar-10-batches-bin/") { ModificationTime = time });
            foreach (var (name, bytes) in new[] { ("test_batch.bin", CifarRecords(2)), ("batches.meta.txt", Encoding.UTF8.GetBytes("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n")) })
                tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, $"cifar-10-batches-bin/{name}") { DataStream = new MemoryStream(bytes), ModificationTime = time });
        }
        return memory.ToArray();
    }

    private static SKBitmap Bitmap(SKColorType type)
    {
        var bitmap = new SKBitmap(new SKImageInfo(6, 5, type, SKAlphaType.Unpremul));
        for (var y = 0; y < 5; y++)
            for (var x = 0; x < 6; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 40), (byte)(y * 50), 90, (byte)(200 + x)));
        return bitmap;
    }

    private static byte[] Png(SKColorType type)
    {
        using var bitmap = Bitmap(type);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static byte[] Jpeg()
    {
        using var bitmap = Bitmap(SKColorType.Rgba8888);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }
}

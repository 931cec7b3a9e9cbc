using System.Buffers.Binary;
using System.Text;
using AdaptSharp.Checkpoints;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Checkpoints;

public sealed class SafetensorsTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>Values exactly representable in every type under test (F16/BF16 included).</summary>
    private static Tensor Sample(ScalarType type, long[] shape)
    {
        var n = shape.Aggregate(1L, (a, b) => a * b);
        if (type == ScalarType.Bool)
            return (arange(n) % 3 == 0).reshape(shape);
        var values = arange(n, dtype: ScalarType.Float64);
        var signed = type is ScalarType.Byte ? values % 251 : (values - n / 2) * (type is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64 ? 0.25 : 1.0);
        if (type == ScalarType.Int8)
            signed = signed.clamp(-128, 127);
        return signed.to_type(type).reshape(shape);
    }

    private static void AssertSameTensor(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.contiguous().bytes.ToArray(), actual.contiguous().bytes.ToArray());
    }

    public static TheoryData<SafetensorsDType> AllDTypes()
    {
        var data = new TheoryData<SafetensorsDType>();
        foreach (var d in Enum.GetValues<SafetensorsDType>())
            data.Add(d);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void RoundTripKeepsValuesExactlyForEveryDType(SafetensorsDType dtype)
    {
        var type = dtype.ToScalarType();
        using var matrix = Sample(type, [3, 5]);
        using var vector = Sample(type, [7]);
        using var scalar = Sample(type, []);
        using var emptyTensor = Sample(type, [0, 4]);
        var path = temp.File($"{dtype}.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor>
        {
            ["m"] = matrix,
            ["v"] = vector,
            ["s"] = scalar,
            ["e"] = emptyTensor,
        });

        using var reader = SafetensorsReader.Open(path);
        Assert.Equal(new[] { "e", "m", "s", "v" }, reader.Names);
        Assert.All(reader.Entries, e => Assert.Equal(dtype, e.DType));
        using var m = reader.ReadTensor("m");
        using var v = reader.ReadTensor("v");
        using var s = reader.ReadTensor("s");
        using var e = reader.ReadTensor("e");
        AssertSameTensor(matrix, m);
        AssertSameTensor(vector, v);
        AssertSameTensor(scalar, s);
        AssertSameTensor(emptyTensor, e);
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void HalfPrecisionCanBeWidenedToFloat32OnRead(ScalarType type)
    {
        using var exact = tensor(new float[] { 1.5f, -2.25f, 0.0078125f, 1024f, -0f, 3.140625f });
        using var half = exact.to_type(type);
        var path = temp.File("half.safetensors");
        SafetensorsWriter.Write(path, [new("w", half)]);

        using var reader = SafetensorsReader.Open(path);
        using var kept = reader.ReadTensor("w");
        Assert.Equal(type, kept.dtype);
        using var widened = reader.ReadTensor("w", ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, widened.dtype);
        Assert.Equal(exact.data<float>().ToArray(), widened.data<float>().ToArray());

        var all = reader.ReadAll(ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, all["w"].dtype);
        foreach (var t in all.Values) t.Dispose();
    }

    [Fact]
    public void MetadataRoundTrips()
    {
        var meta = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["adaptsharp.config"] = "{\"Width\":64,\"Name\":\"tiny \\\"vit\\\"\"}",
            ["unicode"] = "µ-ε 8/255 ✓",
            ["empty"] = "",
        };
        using var t = ones(2, 2);
        var path = temp.File("meta.safetensors");
        SafetensorsWriter.Write(path, [new("t", t)], meta);
        using var reader = SafetensorsReader.Open(path);
        Assert.Equal(meta.OrderBy(kv => kv.Key), reader.Metadata.OrderBy(kv => kv.Key));
    }

    [Fact]
    public void ReadAllLeavesIntegersAsStored()
    {
        using var f = Sample(ScalarType.BFloat16, [4]);
        using var i = Sample(ScalarType.Int64, [4]);
        var path = temp.File("mixed.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["f"] = f, ["i"] = i });
        using var reader = SafetensorsReader.Open(path);
        var all = reader.ReadAll(ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, all["f"].dtype);
        Assert.Equal(ScalarType.Int64, all["i"].dtype);
        foreach (var t in all.Values) t.Dispose();
    }

    [Fact]
    public void WriterFollowsTheReferenceLayoutByteForByte()
    {
        using var a = tensor(new float[] { 1f, 2f });
        using var b = tensor(new byte[] { 7 });
        using var c = tensor(new short[] { -1 }).to_type(ScalarType.Float16);
        var path = temp.File("layout.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, Tensor> { ["b"] = b, ["c"] = c, ["a"] = a });

        // Data: largest elements first, then by name: a (F32, 8 bytes), c (F16, 2 bytes), b (U8, 1 byte).
        const string json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
                            "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[10,11]}," +
                            "\"c\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]}}";
        var header = json + new string(' ', (8 - json.Length % 8) % 8);
        var expected = new List<byte>();
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        expected.AddRange(prefix);
        expected.AddRange(Encoding.ASCII.GetBytes(header));
        expected.AddRange(BitConverter.GetBytes(1f));
        expected.AddRange(BitConverter.GetBytes(2f));
        expected.AddRange(BitConverter.GetBytes((Half)(-1f)));
        expected.Add(7);
        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
        Assert.Equal(0, header.Length % 8);
    }

    [Fact]
    public void ReadsAHandBuiltFile()
    {
        // A file written by hand from the format description, with a metadata entry placed last and extra spaces.
        var data = new List<byte>();
        foreach (var v in new long[] { -3, 5 })
            data.AddRange(BitConverter.GetBytes(v));
        data.AddRange(BitConverter.GetBytes((ushort)0x3FC0)); // bf16 1.5
        var path = WriteRaw("hand.safetensors",
            "{ \"ids\": {\"shape\": [2], \"dtype\": \"I64\", \"data_offsets\": [0, 16]}, " +
            "\"w\": {\"dtype\": \"BF16\", \"shape\": [1, 1], \"data_offsets\": [16, 18]}, \"__metadata__\": {\"k\": \"v\"} }",
            data.ToArray());
        using var reader = SafetensorsReader.Open(path);
        Assert.Equal("v", reader.Metadata["k"]);
        using var ids = reader.ReadTensor("ids");
        Assert.Equal(new long[] { -3, 5 }, ids.data<long>().ToArray());
        using var w = reader.ReadTensor("w", ScalarType.Float32);
        Assert.Equal(new long[] { 1, 1 }, w.shape);
        Assert.Equal(1.5f, w.item<float>());
    }

    private string WriteRaw(string name, string header, byte[] data, ulong? declaredLength = null)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + headerBytes.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)headerBytes.Length);
        headerBytes.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + headerBytes.Length);
        var path = temp.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void AssertRefused(string path, params string[] phrases)
    {
        var error = Assert.Throws<CheckpointFormatException>(() =>
        {
            using var reader = SafetensorsReader.Open(path);
            foreach (var e in reader.Entries)
                reader.ReadTensor(e.Name).Dispose();
        });
        Assert.StartsWith(path + ": ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        foreach (var phrase in phrases)
            Assert.Contains(phrase, error.Message);
    }

    private const string OneF32 = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    [Fact]
    public void RefusesFileTooShort()
    {
        var path = temp.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        AssertRefused(path, "too short");
    }

    [Fact]
    public void RefusesTruncatedFile()
    {
        using var t = ones(16);
        var path = temp.File("cut.safetensors");
        SafetensorsWriter.Write(path, [new("x", t)]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);
        AssertRefused(path, "'x'", "truncated");
    }

    [Fact]
    public void RefusesHeaderLengthBeyondFile()
    {
        var path = WriteRaw("long.safetensors", OneF32, new byte[8], declaredLength: 1_000_000);
        AssertRefused(path, "header length 1000000", "beyond the end");
    }

    [Fact]
    public void RefusesCorruptJson()
    {
        var path = WriteRaw("json.safetensors", OneF32.Replace("\"shape\":", "\"shape\""), new byte[8]);
        AssertRefused(path, "not valid JSON");
    }

    [Fact]
    public void RefusesNonObjectHeader()
    {
        var path = WriteRaw("array.safetensors", "[1,2]   ", []);
        AssertRefused(path, "JSON object");
    }

    [Fact]
    public void RefusesOffsetsThatDoNotMatchShape()
    {
        var path = WriteRaw("size.safetensors", OneF32.Replace("[2]", "[3]"), new byte[8]);
        AssertRefused(path, "'x'", "cover 8 bytes", "needs 12");
    }

    [Fact]
    public void RefusesOffsetsBeyondData()
    {
        var path = WriteRaw("beyond.safetensors",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", new byte[8]);
        AssertRefused(path, "'x'", "data section has only 8 bytes");
    }

    [Fact]
    public void RefusesOverlappingTensors()
    {
        var path = WriteRaw("overlap.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]);
        AssertRefused(path, "overlap", "'a'", "'b'");
    }

    [Fact]
    public void RefusesGapsAndTrailingBytes()
    {
        AssertRefused(WriteRaw("gap.safetensors",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "gap", "'x'");
        AssertRefused(WriteRaw("trail.safetensors", OneF32, new byte[12]), "4 bytes after the last tensor");
    }

    [Fact]
    public void RefusesUnknownAndUnsupportedDTypes()
    {
        AssertRefused(WriteRaw("dtype.safetensors", OneF32.Replace("F32", "F31"), new byte[8]), "'x'", "unknown dtype 'F31'");
        AssertRefused(WriteRaw("u32.safetensors", OneF32.Replace("F32", "U32"), new byte[8]), "'x'", "'U32' is not supported");
    }

    [Fact]
    public void RefusesDuplicateNames()
    {
        var path = WriteRaw("dup.safetensors",
            "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}," +
            "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]);
        AssertRefused(path, "'x' twice");
    }

    [Fact]
    public void RefusesMalformedEntries()
    {
        AssertRefused(WriteRaw("neg.safetensors", OneF32.Replace("[2]", "[-2]"), new byte[8]), "non-negative");
        AssertRefused(WriteRaw("nodtype.safetensors", OneF32.Replace("\"dtype\":\"F32\",", ""), new byte[8]), "dtype is missing");
        AssertRefused(WriteRaw("meta.safetensors",
            "{\"__metadata__\":{\"n\":3}," + OneF32[1..], new byte[8]), "metadata entry 'n' must be a string");
    }

    [Fact]
    public void MissingFileIsAFormatErrorNamingThePath()
    {
        var path = temp.File("absent.safetensors");
        var error = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(path));
        Assert.Equal($"{path}: file not found", error.Message);
    }

    [Fact]
    public void WriterRefusesDuplicateOrReservedNamesAndLeavesNoFile()
    {
        using var t = ones(1);
        var path = temp.File("bad.safetensors");
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("a", t), new("a", t)]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("__metadata__", t)]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("c", ones(1, dtype: ScalarType.ComplexFloat32))]));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void WritesNonContiguousTensorsInLogicalOrder()
    {
        using var m = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var mt = m.t();
        var path = temp.File("t.safetensors");
        SafetensorsWriter.Write(path, [new("mt", mt)]);
        using var reader = SafetensorsReader.Open(path);
        using var back = reader.ReadTensor("mt");
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, back.data<float>().ToArray());
    }
}

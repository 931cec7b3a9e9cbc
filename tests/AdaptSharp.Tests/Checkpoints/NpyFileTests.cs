using System.Buffers.Binary;
using System.Text;
using AdaptSharp.Checkpoints;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Checkpoints;

public sealed class NpyFileTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>
    /// Builds a .npy file from the format specification: magic, version, little-endian header length,
    /// the dict literal padded with spaces and ended by '\n' so the data starts at a multiple of 64.
    /// </summary>
    private static byte[] BuildNpy(string dict, byte[] data, int major = 1)
    {
        var preamble = major == 1 ? 10 : 12;
        var padding = (64 - (preamble + dict.Length + 1) % 64) % 64;
        var header = dict + new string(' ', padding) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange(Encoding.ASCII.GetBytes("NUMPY"));
        bytes.Add((byte)major);
        bytes.Add(0);
        if (major == 1)
            bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        else
            bytes.AddRange(BitConverter.GetBytes((uint)header.Length));
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    private static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    [Fact]
    public void WriterProducesTheBytesNumPyWrites()
    {
        // np.save of np.arange(6, dtype='<f4').reshape(2, 3): 128-byte header block, then the data.
        var expected = BuildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Floats(0, 1, 2, 3, 4, 5));
        Assert.Equal(128 + 24, expected.Length);
        using var t = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var stream = new MemoryStream();
        NpyFile.Write(stream, t);
        Assert.Equal(expected, stream.ToArray());
    }

    [Fact]
    public void ReadsAHandBuiltVersion1File()
    {
        var path = temp.File("a.npy");
        File.WriteAllBytes(path, BuildNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            new[] { 1.5, -2.0, 1e300 }.SelectMany(BitConverter.GetBytes).ToArray()));
        using var t = NpyFile.Read(path);
        Assert.Equal(ScalarType.Float64, t.dtype);
        Assert.Equal(new long[] { 3 }, t.shape);
        Assert.Equal(new[] { 1.5, -2.0, 1e300 }, t.data<double>().ToArray());
    }

    [Fact]
    public void ReadsAHandBuiltVersion2FileWithOtherKeyOrderAndQuotes()
    {
        var path = temp.File("v2.npy");
        var data = new long[] { 1, -2, 3, 4, 5, 6 }.SelectMany(BitConverter.GetBytes).ToArray();
        File.WriteAllBytes(path, BuildNpy("{\"shape\": (3L, 2L), 'fortran_order': False, 'descr': '<i8'}", data, major: 2));
        using var t = NpyFile.Read(path);
        Assert.Equal(new long[] { 3, 2 }, t.shape);
        Assert.Equal(new long[] { 1, -2, 3, 4, 5, 6 }, t.data<long>().ToArray());
    }

    [Fact]
    public void ReadsScalarAndUint8()
    {
        var scalar = temp.File("s.npy");
        File.WriteAllBytes(scalar, BuildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", Floats(42.5f)));
        using var s = NpyFile.Read(scalar);
        Assert.Empty(s.shape);
        Assert.Equal(42.5f, s.item<float>());

        var bytes = temp.File("u.npy");
        File.WriteAllBytes(bytes, BuildNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", [0, 1, 254, 255]));
        using var u = NpyFile.Read(bytes);
        Assert.Equal(ScalarType.Byte, u.dtype);
        Assert.Equal(new byte[] { 0, 1, 254, 255 }, u.data<byte>().ToArray());
    }

    public static TheoryData<ScalarType, long[]> Cases()
    {
        var data = new TheoryData<ScalarType, long[]>();
        foreach (var type in new[] { ScalarType.Float32, ScalarType.Float64, ScalarType.Byte, ScalarType.Int64, ScalarType.Int32, ScalarType.Float16, ScalarType.Bool })
        {
            data.Add(type, []);
            data.Add(type, [5]);
            data.Add(type, [2, 3, 4]);
            data.Add(type, [0, 3]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RoundTripsEveryTypeAndShape(ScalarType type, long[] shape)
    {
        var n = shape.Aggregate(1L, (a, b) => a * b);
        using var source = type == ScalarType.Bool
            ? (arange(n) % 2 == 0).reshape(shape)
            : (arange(n, dtype: ScalarType.Float64) * 1.5 - 3).to_type(type).reshape(shape);
        var path = temp.File("rt.npy");
        NpyFile.Write(path, source);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0, (bytes.Length - n * source.element_size()) % 64);
        Assert.Equal((byte)'\n', bytes[(int)(bytes.Length - n * source.element_size()) - 1]);

        using var back = NpyFile.Read(path);
        Assert.Equal(type, back.dtype);
        Assert.Equal(shape, back.shape);
        Assert.Equal(source.bytes.ToArray(), back.bytes.ToArray());
    }

    [Fact]
    public void ShapeTextFollowsPythonRepr()
    {
        Assert.Equal("()", NpyFile.FormatShape([]));
        Assert.Equal("(5,)", NpyFile.FormatShape([5]));
        Assert.Equal("(2, 3, 4)", NpyFile.FormatShape([2, 3, 4]));
    }

    private void AssertRefused(byte[] bytes, params string[] phrases)
    {
        var path = temp.File("bad.npy");
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<CheckpointFormatException>(() => NpyFile.Read(path).Dispose());
        Assert.StartsWith(path + ": ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        foreach (var phrase in phrases)
            Assert.Contains(phrase, error.Message);
    }

    [Fact]
    public void RefusesFortranOrder() =>
        AssertRefused(BuildNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Floats(1, 2, 3, 4)),
            "Fortran", "C order");

    [Fact]
    public void RefusesBigEndianAndUnknownTypes()
    {
        AssertRefused(BuildNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", Floats(1)), "'>f4'", "big-endian");
        AssertRefused(BuildNpy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]), "'<c8'", "not supported");
    }

    [Fact]
    public void RefusesBrokenFiles()
    {
        AssertRefused([1, 2, 3], "too short");
        AssertRefused(Encoding.ASCII.GetBytes("PK\u0003\u0004 not numpy at all"), "magic");
        AssertRefused(BuildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", Floats(1, 2)), "truncated");
        AssertRefused(BuildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", Floats(1, 2, 3, 4)), "'(n,)'");
        AssertRefused(BuildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", Floats(1)), "non-negative integer");
        AssertRefused(BuildNpy("{'descr': '<f4', 'fortran_order': False}", Floats(1)), "'shape'");
        AssertRefused(BuildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", Floats(1)), "expected '}'");
        var wrongVersion = BuildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Floats(1));
        wrongVersion[6] = 9;
        AssertRefused(wrongVersion, "version 9.0");
    }

    [Fact]
    public void WriterRefusesBFloat16WithAHint()
    {
        using var t = ones(2, dtype: ScalarType.BFloat16);
        var error = Assert.Throws<ArgumentException>(() => NpyFile.Write(temp.File("b.npy"), t));
        Assert.Contains("float32", error.Message);
        Assert.Empty(Directory.GetFiles(temp.Path));
    }
}

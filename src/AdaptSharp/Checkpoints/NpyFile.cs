using AdaptSharp.IO;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// NumPy .npy files (format versions 1.0, 2.0 and 3.0 read; 1.0 written unless the header needs 2.0), for exchanging
/// arrays with Python users. Little-endian, C order only. Types: &lt;f2 &lt;f4 &lt;f8 |u1 |i1 &lt;i2 &lt;i4 &lt;i8 |b1.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private const int Alignment = 64;

    public static Tensor Read(string path)
    {
        using var stream = OpenForRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads one array from the current position of <paramref name="stream"/>.</summary>
    public static Tensor Read(Stream stream, string label)
    {
        TensorBytes.EnsureLittleEndianHost();
        Span<byte> preamble = stackalloc byte[8];
        if (!TryFill(stream, preamble))
            throw CheckpointFormatException.For(label, "file too short for a .npy file");
        if (!preamble[..6].SequenceEqual(Magic))
            throw CheckpointFormatException.For(label, "not a .npy file (missing the \\x93NUMPY magic)");
        var major = preamble[6];
        var minor = preamble[7];
        long headerLength;
        Encoding encoding;
        switch (major)
        {
            case 1:
                Span<byte> len2 = stackalloc byte[2];
                if (!TryFill(stream, len2))
                    throw CheckpointFormatException.For(label, "file ended inside the .npy preamble");
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(len2);
                encoding = Encoding.Latin1;
                break;
            case 2 or 3:
                Span<byte> len4 = stackalloc byte[4];
                if (!TryFill(stream, len4))
                    throw CheckpointFormatException.For(label, "file ended inside the .npy preamble");
                headerLength = BinaryPrimitives.ReadUInt32LittleEndian(len4);
                encoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
                break;
            default:
                throw CheckpointFormatException.For(label, $"unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are supported)");
        }
        if (headerLength > 1 << 24)
            throw CheckpointFormatException.For(label, $".npy header length {headerLength} is implausibly large");
        var headerBytes = new byte[headerLength];
        if (!TryFill(stream, headerBytes))
            throw CheckpointFormatException.For(label, $"file ended inside the .npy header (needs {headerLength} bytes)");
        var header = NpyHeader.Parse(Decode(encoding, headerBytes, label), label);
        CheckDataFits(stream, header, label);

        var tensor = empty(header.Shape, dtype: header.Type);
        try
        {
            TensorBytes.ReadInto(stream, tensor, label, $"the array data ({header.Descr} {FormatShape(header.Shape)})");
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    private static string Decode(Encoding encoding, byte[] bytes, string label)
    {
        if (encoding.CodePage == Encoding.UTF8.CodePage && !System.Text.Unicode.Utf8.IsValid(bytes))
            throw CheckpointFormatException.For(label, ".npy header (format 3.0) is not valid UTF-8");
        return encoding.GetString(bytes);
    }

    /// <summary>
    /// The declared shape must fit in the bytes the file actually has before anything is allocated: a header may
    /// declare any shape, and allocating first would let a 100-byte file ask for terabytes.
    /// </summary>
    private static void CheckDataFits(Stream stream, NpyHeader header, string label)
    {
        long bytes;
        try
        {
            bytes = checked(header.Shape.Aggregate(1L, (n, d) => checked(n * d)) * ElementSize(header.Type));
        }
        catch (OverflowException)
        {
            throw CheckpointFormatException.For(label, $".npy shape {FormatShape(header.Shape)} is too large (its size overflows 64 bits)");
        }
        if (!stream.CanSeek)
            return;
        var available = stream.Length - stream.Position;
        if (bytes > available)
            throw CheckpointFormatException.For(label,
                $".npy shape {FormatShape(header.Shape)} of {header.Descr} needs {bytes} data bytes but the file has {available} after the header (truncated, or a wrong shape)");
    }

    private static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Float16 or ScalarType.Int16 => 2,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        _ => 8,
    };

    /// <summary>Writes atomically (temp file + rename).</summary>
    public static void Write(string path, Tensor tensor) => AtomicFile.Write(path, stream => Write(stream, tensor));

    public static void Write(Stream stream, Tensor tensor)
    {
        TensorBytes.EnsureLittleEndianHost();
        var descr = NpyHeader.DescrOf(tensor.dtype);
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {FormatShape(tensor.shape)}, }}";
        var dictBytes = Encoding.Latin1.GetBytes(dict);
        // Version 1.0 stores the header length in 2 bytes; fall back to 2.0 (4 bytes) for very high-rank shapes.
        var version = dictBytes.Length + 1 + 10 + Alignment <= ushort.MaxValue ? 1 : 2;
        var preambleLength = version == 1 ? 10 : 12;
        var unpadded = preambleLength + dictBytes.Length + 1;
        var padding = (Alignment - unpadded % Alignment) % Alignment;
        var headerLength = dictBytes.Length + padding + 1;

        stream.Write(Magic);
        stream.WriteByte((byte)version);
        stream.WriteByte(0);
        if (version == 1)
        {
            Span<byte> len = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)headerLength);
            stream.Write(len);
        }
        else
        {
            Span<byte> len = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)headerLength);
            stream.Write(len);
        }
        stream.Write(dictBytes);
        for (var i = 0; i < padding; i++)
            stream.WriteByte((byte)' ');
        stream.WriteByte((byte)'\n');
        TensorBytes.Write(stream, tensor);
        stream.Flush();
    }

    /// <summary>Python's repr of a shape tuple: "()", "(5,)", "(2, 3)".</summary>
    internal static string FormatShape(IReadOnlyList<long> shape) => shape.Count switch
    {
        0 => "()",
        1 => $"({shape[0].ToString(CultureInfo.InvariantCulture)},)",
        _ => "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
    };

    private static FileStream OpenForRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw CheckpointFormatException.For(path, "file not found", e);
        }
    }

    private static bool TryFill(Stream stream, Span<byte> buffer)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = stream.Read(buffer[filled..]);
            if (n <= 0)
                return false;
            filled += n;
        }
        return true;
    }
}

using System.Buffers.Binary;

namespace AdaptSharp.Data;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed (detected by content):
/// a big-endian magic 0x0000TTDD (TT = 0x08 unsigned byte, DD = number of dimensions), DD big-endian
/// int32 sizes, then the data.
/// </summary>
public static class IdxReader
{
    /// <summary>Reads an idx3-ubyte image file: (pixels N*H*W, N, H, W).</summary>
    public static (byte[] Pixels, int Count, int Height, int Width) ReadImages(string path)
    {
        var (dims, data) = Read(path, expectedDims: 3);
        return (data, dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads an idx1-ubyte label file.</summary>
    public static byte[] ReadLabels(string path) => Read(path, expectedDims: 1).Data;

    private static (int[] Dims, byte[] Data) Read(string path, int expectedDims)
    {
        var bytes = ReadAllDecompressed(path);
        if (bytes.Length < 4)
            throw new DatasetException($"{path}: truncated IDX file ({bytes.Length} bytes, no header)");
        if (bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || bytes[3] != expectedDims)
        {
            var magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            throw new DatasetException(
                $"{path}: not an IDX {(expectedDims == 3 ? "image" : "label")} file (magic 0x{magic:X8}, expected 0x{0x0800 + expectedDims:X8})");
        }
        var headerLength = 4 + 4 * expectedDims;
        if (bytes.Length < headerLength)
            throw new DatasetException($"{path}: truncated IDX file ({bytes.Length} bytes, header needs {headerLength})");
        var dims = new int[expectedDims];
        long expected = 1;
        for (var i = 0; i < expectedDims; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * i));
            if (dims[i] < 0 || (i > 0 && dims[i] == 0))
                throw new DatasetException($"{path}: invalid IDX dimension {dims[i]}");
            expected *= dims[i];
        }
        var actual = bytes.LongLength - headerLength;
        if (actual < expected)
            throw new DatasetException($"{path}: truncated IDX file ({actual} data bytes, header promises {expected} for {string.Join("x", dims)})");
        if (actual > expected)
            throw new DatasetException($"{path}: IDX file has {actual - expected} bytes after the {string.Join("x", dims)} data");
        return (dims, bytes.AsSpan(headerLength).ToArray());
    }

    private static byte[] ReadAllDecompressed(string path)
    {
        if (!File.Exists(path))
            throw new DatasetException($"{path}: file not found");
        try
        {
            using var file = File.OpenRead(path);
            return GzipData.IsGzip(file) ? GzipData.ReadAll(file, path) : File.ReadAllBytes(path);
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new DatasetException($"{path}: cannot read ({e.Message})", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DatasetException($"{path}: permission denied", e);
        }
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace AdaptSharp.Data;

/// <summary>
/// Gzip decompression that can be read to the end, so zlib checks the trailer's CRC-32 and length (a reader that
/// stops after the bytes it needs, like a tar reader, would otherwise accept a flipped bit), and whose errors say
/// what is wrong: .NET reports a CRC mismatch as "unsupported compression method".
/// </summary>
internal sealed class GzipData : Stream
{
    private readonly Stream file;
    private readonly GZipStream gzip;
    private readonly string path;
    private readonly uint? trailerCrc;
    private readonly uint? trailerLength;
    private long produced;

    private GzipData(Stream file, string path)
    {
        this.file = file;
        this.path = path;
        if (file.CanSeek && file.Length >= 18)
        {
            Span<byte> trailer = stackalloc byte[8];
            file.Position = file.Length - 8;
            file.ReadExactly(trailer);
            file.Position = 0;
            trailerCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
            trailerLength = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        }
        gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
    }

    /// <summary>True when the stream starts with the gzip magic 1F 8B (the position is restored).</summary>
    public static bool IsGzip(Stream file)
    {
        var position = file.Position;
        var magic = file.ReadByte() == 0x1F & file.ReadByte() == 0x8B;
        file.Position = position;
        return magic;
    }

    /// <summary>Opens the decompressed view of a gzip file positioned at its start; read errors name <paramref name="path"/>.</summary>
    public static GzipData Open(Stream file, string path) => new(file, path);

    /// <summary>Decompresses a whole gzip file into memory, checking its trailer.</summary>
    public static byte[] ReadAll(Stream file, string path)
    {
        using var data = Open(file, path);
        using var memory = new MemoryStream();
        data.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>Reads what is left so the trailer is checked, discarding the bytes.</summary>
    public void DrainToEnd() => CopyTo(Null);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n;
        try
        {
            n = gzip.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw Diagnose(e);
        }
        catch (EndOfStreamException e)
        {
            throw new DatasetException($"{path}: truncated gzip data", e);
        }
        produced += n;
        return n;
    }

    private DatasetException Diagnose(Exception e)
    {
        // .NET throws the same "unsupported compression method" for a bad deflate stream and a bad trailer, and
        // loses the bytes of the failing read. So decode the member again as raw deflate (the error path only) and
        // compare its CRC-32 and length with the trailer.
        if (trailerCrc is { } stored && trailerLength is { } length && RecomputeCrc() is { } recomputed
            && recomputed.Length == length && recomputed.Crc != stored)
            return new DatasetException(
                $"{path}: gzip CRC mismatch (stored 0x{stored:X8}, data gives 0x{recomputed.Crc:X8}): the file is corrupt, download it again", e);
        return new DatasetException($"{path}: corrupt or truncated gzip data ({e.Message.ReplaceLineEndings(" ")})", e);
    }

    /// <summary>CRC-32 and length (mod 2^32) of the first member's deflate data, or null if it does not decode.</summary>
    private (uint Crc, uint Length)? RecomputeCrc()
    {
        try
        {
            file.Position = 0;
            var start = MemberDataOffset(file);
            if (start is null)
                return null;
            file.Position = start.Value;
            using var deflate = new DeflateStream(file, CompressionMode.Decompress, leaveOpen: true);
            var check = new Crc32();
            var buffer = new byte[1 << 16];
            long total = 0;
            int n;
            while ((n = deflate.Read(buffer)) > 0)
            {
                check.Append(buffer.AsSpan(0, n));
                total += n;
            }
            return (check.GetCurrentHashAsUInt32(), (uint)total);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            return null;
        }
    }

    /// <summary>Skips the gzip member header (RFC 1952: fixed 10 bytes, then optional extra, name, comment, header CRC).</summary>
    private static long? MemberDataOffset(Stream s)
    {
        Span<byte> fixedPart = stackalloc byte[10];
        if (s.ReadAtLeast(fixedPart, 10, throwOnEndOfStream: false) < 10 || fixedPart[0] != 0x1F || fixedPart[1] != 0x8B || fixedPart[2] != 8)
            return null;
        var flags = fixedPart[3];
        if ((flags & 0x04) != 0)
        {
            Span<byte> xlen = stackalloc byte[2];
            if (s.ReadAtLeast(xlen, 2, throwOnEndOfStream: false) < 2)
                return null;
            s.Position += BinaryPrimitives.ReadUInt16LittleEndian(xlen);
        }
        foreach (var zeroTerminated in new[] { 0x08, 0x10 })
            if ((flags & zeroTerminated) != 0)
            {
                int b;
                while ((b = s.ReadByte()) > 0) { }
                if (b < 0)
                    return null;
            }
        if ((flags & 0x02) != 0)
            s.Position += 2;
        return s.Position < s.Length ? s.Position : null;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => produced; set => throw new NotSupportedException(); }

    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            gzip.Dispose();
        base.Dispose(disposing);
    }
}

using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Moves raw little-endian tensor bytes between files and tensor memory without intermediate copies.
/// Tensor memory is reached through <see cref="Tensor.bytes"/> (a span over the native buffer); tensors larger
/// than one span are handled in slices.
/// </summary>
internal static class TensorBytes
{
    private const long ChunkBytes = 1L << 30;

    public static void EnsureLittleEndianHost()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("checkpoint files are little-endian; big-endian hosts are not supported");
    }

    /// <summary>Visits the bytes of a contiguous CPU tensor in order, in spans of at most 1 GiB.</summary>
    public static void ForEachSpan(Tensor contiguousCpu, SpanAction action, long chunkBytes = ChunkBytes)
    {
        var total = contiguousCpu.numel() * contiguousCpu.element_size();
        if (total == 0)
            return;
        if (total <= chunkBytes)
        {
            action(contiguousCpu.bytes);
            return;
        }
        using var flat = contiguousCpu.view(-1);
        var perChunk = Math.Max(1, chunkBytes / contiguousCpu.element_size());
        for (long start = 0; start < flat.shape[0]; start += perChunk)
        {
            using var slice = flat.narrow(0, start, Math.Min(perChunk, flat.shape[0] - start));
            action(slice.bytes);
        }
    }

    public delegate void SpanAction(Span<byte> bytes);

    /// <summary>Fills a freshly allocated contiguous CPU tensor from a file region.</summary>
    public static void ReadInto(SafeFileHandle file, long fileOffset, Tensor destination, string fileLabel, string tensorName)
    {
        var offset = fileOffset;
        ForEachSpan(destination, span =>
        {
            var filled = 0;
            while (filled < span.Length)
            {
                var n = RandomAccess.Read(file, span[filled..], offset + filled);
                if (n <= 0)
                    throw CheckpointFormatException.For(fileLabel, $"file ended while reading tensor '{tensorName}' (truncated)");
                filled += n;
            }
            offset += span.Length;
        });
    }

    /// <summary>Fills a freshly allocated contiguous CPU tensor from a stream.</summary>
    public static void ReadInto(Stream stream, Tensor destination, string fileLabel, string tensorName)
    {
        ForEachSpan(destination, span =>
        {
            var filled = 0;
            while (filled < span.Length)
            {
                var n = stream.Read(span[filled..]);
                if (n <= 0)
                    throw CheckpointFormatException.For(fileLabel, $"file ended while reading {tensorName} (truncated)");
                filled += n;
            }
        });
    }

    /// <summary>Writes the bytes of a tensor (any device, any layout) in C order.</summary>
    public static void Write(Stream stream, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var cpu = tensor.device_type == DeviceType.CPU ? tensor : tensor.cpu();
        var contiguous = cpu.is_contiguous() ? cpu : cpu.contiguous();
        ForEachSpan(contiguous, span => stream.Write(span));
    }
}

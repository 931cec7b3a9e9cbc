using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Identifies a backbone by its weights: SHA-256 (lowercase hex, 64 characters) over every tensor of a backbone
/// file in ordinal name order, each contributing its name, safetensors dtype, shape and raw little-endian bytes.
/// Metadata is not covered, so re-exporting the same weights with other metadata keeps the fingerprint; any change
/// of a weight, a dtype (F16 vs F32), a name or a shape changes it. A file and the tensors written to it give the
/// same value: <c>OfFile(path) == Of(tensors)</c> after <c>SafetensorsWriter.Write(path, tensors)</c>.
/// </summary>
internal static class BackboneFingerprint
{
    public static string OfFile(string path)
    {
        using var reader = SafetensorsReader.Open(path);
        return Of(reader);
    }

    public static string Of(SafetensorsReader reader)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in reader.Entries)
        {
            AppendEntryHeader(hash, entry.Name, entry.DType, entry.Shape, entry.ByteLength);
            reader.CopyRawBytes(entry.Name, bytes => hash.AppendData(bytes));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static string Of(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        TensorBytes.EnsureLittleEndianHost();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var dtype = SafetensorsDTypes.FromScalarType(tensor.dtype);
            AppendEntryHeader(hash, name, dtype, tensor.shape, tensor.numel() * dtype.ElementSize());
            using var scope = NewDisposeScope();
            var cpu = tensor.device_type == DeviceType.CPU ? tensor : tensor.cpu();
            var contiguous = cpu.is_contiguous() ? cpu : cpu.contiguous();
            TensorBytes.ForEachSpan(contiguous, span => hash.AppendData(span));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The first 16 hex characters, for display.</summary>
    public static string Short(string fingerprint) => fingerprint.Length > 16 ? fingerprint[..16] : fingerprint;

    private static void AppendEntryHeader(IncrementalHash hash, string name, SafetensorsDType dtype, long[] shape, long byteLength)
    {
        var text = $"{name}\0{dtype.Name()}\0{string.Join(",", shape)}\0";
        hash.AppendData(Encoding.UTF8.GetBytes(text));
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, byteLength);
        hash.AppendData(length);
    }
}

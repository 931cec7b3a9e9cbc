using AdaptSharp.IO;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Writes safetensors files the way the reference writer lays them out: header entries by name, data ordered by
/// element size (largest first) and then name so every tensor starts aligned to its element size, and the JSON
/// header padded with spaces so the data section starts at a multiple of 8.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes atomically (temp file + rename).</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        var layout = Plan(list);
        AtomicFile.Write(path, stream => WriteTo(stream, layout, metadata));
    }

    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null) =>
        WriteTo(stream, Plan(tensors.ToList()), metadata);

    private sealed record Planned(string Name, Tensor Tensor, SafetensorsDType DType, long[] Shape, long Begin, long End);

    private static List<Planned> Plan(List<KeyValuePair<string, Tensor>> tensors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name))
                throw new ArgumentException("safetensors tensor names must not be empty");
            if (name == SafetensorsHeader.MetadataKey)
                throw new ArgumentException($"'{SafetensorsHeader.MetadataKey}' is reserved and cannot name a tensor");
            if (!names.Add(name))
                throw new ArgumentException($"tensor name '{name}' given twice");
            ArgumentNullException.ThrowIfNull(tensor, name);
        }

        var ordered = tensors
            .Select(kv => (kv.Key, kv.Value, DType: SafetensorsDTypes.FromScalarType(kv.Value.dtype)))
            .OrderByDescending(t => t.DType.ElementSize())
            .ThenBy(t => t.Key, StringComparer.Ordinal);
        var planned = new List<Planned>();
        long offset = 0;
        foreach (var (name, tensor, dtype) in ordered)
        {
            var bytes = checked(tensor.numel() * dtype.ElementSize());
            planned.Add(new Planned(name, tensor, dtype, tensor.shape.ToArray(), offset, offset + bytes));
            offset += bytes;
        }
        return planned;
    }

    private static void WriteTo(Stream stream, List<Planned> layout, IReadOnlyDictionary<string, string>? metadata)
    {
        TensorBytes.EnsureLittleEndianHost();
        var header = BuildHeader(layout, metadata);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var p in layout)
            TensorBytes.Write(stream, p.Tensor);
        stream.Flush();
    }

    private static byte[] BuildHeader(List<Planned> layout, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            foreach (var p in layout.OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject(p.Name);
                json.WriteString("dtype", p.DType.Name());
                json.WriteStartArray("shape");
                foreach (var d in p.Shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(p.Begin);
                json.WriteNumberValue(p.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        var padding = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < padding; i++)
            buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}

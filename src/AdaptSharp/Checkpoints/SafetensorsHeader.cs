using System.Text.Json;

namespace AdaptSharp.Checkpoints;

/// <summary>Parses and validates the JSON header of a safetensors file.</summary>
internal static class SafetensorsHeader
{
    public const string MetadataKey = "__metadata__";

    /// <summary>The reference implementation refuses headers above 100 MB; so do we.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(
        ReadOnlyMemory<byte> json, long dataLength, string file)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json.Span))
            throw CheckpointFormatException.For(file, "header is not valid UTF-8 (safetensors headers are UTF-8 JSON)");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw CheckpointFormatException.For(file, $"header is not valid JSON ({OneLine(e.Message)})", e);
        }

        using (document)
        {
            try
            {
                return ReadDocument(document, dataLength, file);
            }
            catch (InvalidOperationException e)
            {
                // JsonDocument checks structure only; a string with an escaped lone surrogate ("\ud800") fails when read.
                throw CheckpointFormatException.For(file, $"header holds an invalid JSON string ({OneLine(e.Message)})", e);
            }
        }
    }

    private static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata) ReadDocument(
        JsonDocument document, long dataLength, string file)
    {
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw CheckpointFormatException.For(file, $"header must be a JSON object, found {root.ValueKind}");

            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                var name = property.Name;
                if (!seen.Add(name))
                    throw CheckpointFormatException.For(file, $"header names '{name}' twice");
                if (name == MetadataKey)
                    ReadMetadata(property.Value, metadata, file);
                else
                    entries.Add(ReadEntry(name, property.Value, file));
            }
            ValidateLayout(entries, dataLength, file);
            entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string file)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return;
        if (value.ValueKind != JsonValueKind.Object)
            throw CheckpointFormatException.For(file, $"'{MetadataKey}' must be an object of strings, found {value.ValueKind}");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw CheckpointFormatException.For(file, $"metadata entry '{item.Name}' must be a string, found {item.Value.ValueKind}");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw CheckpointFormatException.For(file, $"metadata names '{item.Name}' twice");
        }
    }

    private static SafetensorsEntry ReadEntry(string name, JsonElement value, string file)
    {
        if (name.Length == 0)
            throw CheckpointFormatException.For(file, "header has a tensor with an empty name");
        if (value.ValueKind != JsonValueKind.Object)
            throw CheckpointFormatException.For(file, $"tensor '{name}': entry must be an object, found {value.ValueKind}");

        string? dtypeName = null;
        long[]? shape = null;
        long[]? offsets = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype":
                    if (field.Value.ValueKind != JsonValueKind.String)
                        throw CheckpointFormatException.For(file, $"tensor '{name}': dtype must be a string");
                    dtypeName = field.Value.GetString();
                    break;
                case "shape":
                    shape = ReadIntegers(field.Value, name, "shape", file);
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(field.Value, name, "data_offsets", file);
                    break;
                default:
                    throw CheckpointFormatException.For(file, $"tensor '{name}': unexpected field '{field.Name}'");
            }
        }
        if (dtypeName is null)
            throw CheckpointFormatException.For(file, $"tensor '{name}': dtype is missing");
        if (shape is null)
            throw CheckpointFormatException.For(file, $"tensor '{name}': shape is missing");
        if (offsets is null)
            throw CheckpointFormatException.For(file, $"tensor '{name}': data_offsets is missing");
        if (!SafetensorsDTypes.TryParse(dtypeName, out var dtype, out var problem))
            throw CheckpointFormatException.For(file, $"tensor '{name}': {problem}");
        if (offsets.Length != 2)
            throw CheckpointFormatException.For(file, $"tensor '{name}': data_offsets must be [begin, end], found {offsets.Length} numbers");
        return new SafetensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(JsonElement value, string name, string field, string file)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw CheckpointFormatException.For(file, $"tensor '{name}': {field} must be an array of integers");
        var result = new long[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var n) || n < 0)
                throw CheckpointFormatException.For(file, $"tensor '{name}': {field} must hold non-negative integers, found {item.GetRawText()}");
            result[i++] = n;
        }
        return result;
    }

    /// <summary>
    /// Checks what the reference implementation checks: every tensor's byte range matches shape * dtype size,
    /// and the ranges tile the data section exactly (no overlap, no gap, nothing after the last tensor).
    /// </summary>
    private static void ValidateLayout(List<SafetensorsEntry> entries, long dataLength, string file)
    {
        foreach (var e in entries)
        {
            if (e.End < e.Begin)
                throw CheckpointFormatException.For(file, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] end before they begin");
            long expected;
            try
            {
                expected = checked(e.ElementCount * e.DType.ElementSize());
            }
            catch (OverflowException)
            {
                throw CheckpointFormatException.For(file, $"tensor '{e.Name}': shape {e.ShapeText} is too large");
            }
            if (e.ByteLength != expected)
                throw CheckpointFormatException.For(file,
                    $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] cover {e.ByteLength} bytes but shape {e.ShapeText} of {e.DType} needs {expected}");
            if (e.End > dataLength)
                throw CheckpointFormatException.For(file,
                    $"tensor '{e.Name}' ends at data byte {e.End} but the data section has only {dataLength} bytes (file truncated?)");
        }

        var byOffset = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long position = 0;
        SafetensorsEntry? previous = null;
        foreach (var e in byOffset)
        {
            if (e.Begin < position)
                throw CheckpointFormatException.For(file,
                    $"tensors '{previous!.Name}' and '{e.Name}' overlap (data_offsets [{previous.Begin}, {previous.End}] and [{e.Begin}, {e.End}])");
            if (e.Begin > position)
                throw CheckpointFormatException.For(file,
                    $"gap of {e.Begin - position} unused bytes before tensor '{e.Name}' (data_offsets must tile the data section)");
            position = e.End;
            previous = e;
        }
        if (position != dataLength)
            throw CheckpointFormatException.For(file,
                $"{dataLength - position} bytes after the last tensor are not described by the header");
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}

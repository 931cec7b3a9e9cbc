using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// Reads a safetensors file: the header is parsed and validated on <see cref="Open"/>, tensors are read on demand
/// straight from the file into tensor memory.
/// </summary>
public sealed class SafetensorsReader : IDisposable
{
    private readonly SafeFileHandle handle;
    private readonly Dictionary<string, SafetensorsEntry> byName;
    private readonly long dataStart;

    private SafetensorsReader(string path, SafeFileHandle handle, List<SafetensorsEntry> entries,
        Dictionary<string, string> metadata, long dataStart)
    {
        FilePath = path;
        this.handle = handle;
        this.dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
        byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    public string FilePath { get; }

    /// <summary>Tensors in ordinal name order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The "__metadata__" map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IEnumerable<string> Names => Entries.Select(e => e.Name);

    public bool Contains(string name) => byName.ContainsKey(name);

    public SafetensorsEntry GetEntry(string name) =>
        byName.TryGetValue(name, out var entry)
            ? entry
            : throw CheckpointFormatException.For(FilePath, $"has no tensor named '{name}'");

    public static SafetensorsReader Open(string path)
    {
        TensorBytes.EnsureLittleEndianHost();
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (FileNotFoundException e)
        {
            throw CheckpointFormatException.For(path, "file not found", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw CheckpointFormatException.For(path, "file not found", e);
        }

        try
        {
            var length = RandomAccess.GetLength(handle);
            if (length < 8)
                throw CheckpointFormatException.For(path, $"file too short for a safetensors file ({length} bytes, the header length alone takes 8)");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, prefix, 0, path);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > (ulong)(length - 8))
                throw CheckpointFormatException.For(path,
                    $"header length {headerLength} goes beyond the end of the file ({length} bytes): truncated or not a safetensors file");
            if ((long)headerLength > SafetensorsHeader.MaxHeaderBytes)
                throw CheckpointFormatException.For(path, $"header length {headerLength} exceeds the {SafetensorsHeader.MaxHeaderBytes} byte limit");
            if (headerLength < 2)
                throw CheckpointFormatException.For(path, $"header length {headerLength} is too small for a JSON object");
            var json = new byte[headerLength];
            ReadExactly(handle, json, 8, path);
            var dataStart = 8 + (long)headerLength;
            var (entries, metadata) = SafetensorsHeader.Parse(json, length - dataStart, path);
            return new SafetensorsReader(path, handle, entries, metadata, dataStart);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads one tensor onto the CPU. With <paramref name="dtype"/> null the stored type is kept;
    /// otherwise the tensor is converted (e.g. Float32 to widen F16/BF16).
    /// </summary>
    public Tensor ReadTensor(string name, ScalarType? dtype = null)
    {
        var entry = GetEntry(name);
        var stored = entry.DType.ToScalarType();
        var tensor = empty(entry.Shape, dtype: stored);
        try
        {
            TensorBytes.ReadInto(handle, dataStart + entry.Begin, tensor, FilePath, name);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        if (dtype is null || dtype.Value == stored)
            return tensor;
        using (tensor)
            return tensor.to_type(dtype.Value);
    }

    /// <summary>
    /// Reads every tensor. With <paramref name="floatingPointAs"/> set, floating-point tensors are converted to it
    /// and integer/bool tensors are kept as stored.
    /// </summary>
    public Dictionary<string, Tensor> ReadAll(ScalarType? floatingPointAs = null)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in Entries)
                result[e.Name] = ReadTensor(e.Name, e.DType.IsFloatingPoint() ? floatingPointAs : null);
            return result;
        }
        catch
        {
            foreach (var t in result.Values)
                t.Dispose();
            throw;
        }
    }

    /// <summary>Streams the stored bytes of one tensor (for hashing) without creating a tensor.</summary>
    public void CopyRawBytes(string name, Action<ReadOnlySpan<byte>> sink)
    {
        var entry = GetEntry(name);
        var buffer = new byte[(int)Math.Min(entry.ByteLength, 1 << 22)];
        long done = 0;
        while (done < entry.ByteLength)
        {
            var want = (int)Math.Min(buffer.Length, entry.ByteLength - done);
            ReadExactly(handle, buffer.AsSpan(0, want), dataStart + entry.Begin + done, FilePath);
            sink(buffer.AsSpan(0, want));
            done += want;
        }
    }

    public void Dispose() => handle.Dispose();

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset, string path)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[filled..], offset + filled);
            if (n <= 0)
                throw CheckpointFormatException.For(path, "file ended early (truncated)");
            filled += n;
        }
    }
}

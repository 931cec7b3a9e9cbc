using System.Diagnostics;
using System.IO.Compression;

namespace AdaptSharp.Fuzzing;

/// <summary>
/// A parser's contract on any bytes: it succeeds, or throws its typed format exception with a one-line message that
/// names the file; it allocates nothing proportional to a declared (rather than actual) length; it does not hang.
/// </summary>
public static class FuzzContract
{
    /// <summary>Longest a single small input may take before it counts as a hang.</summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(10);

    /// <summary>The bytes a target parses for a case: the mutated seed, gzipped again when the case mutates the inner bytes.</summary>
    public static byte[] Materialise(FuzzTarget target, FuzzCase fuzzCase)
    {
        var seed = target.Seeds[fuzzCase.Seed % target.Seeds.Count];
        var bytes = fuzzCase.Inner && target.GzipInner ? Gunzip(seed) : seed;
        foreach (var m in fuzzCase.Mutations)
            bytes = m.Apply(bytes, target.Tokens);
        return fuzzCase.Inner && target.GzipInner ? Gzip(bytes) : bytes;
    }

    /// <summary>Writes <paramref name="bytes"/> under the target's file name in <paramref name="folder"/> and checks the contract.</summary>
    public static void Check(FuzzTarget target, byte[] bytes, string folder)
    {
        var path = Path.Combine(folder, target.FileName);
        File.WriteAllBytes(path, bytes);
        // Managed allocation allowed: a fixed allowance (stream buffers, decoders) plus what the actual bytes can
        // expand to (deflate expands at most ~1032x; a decoded image is bounded by SkiaSharp's own limits).
        var allowance = 64L << 20;
        var limit = allowance + 1100L * bytes.Length;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        long nativeBytes;
        try
        {
            nativeBytes = target.Parse(path);
        }
        catch (Exception e) when (e.GetType() == target.FailureType)
        {
            if (e.Message.Contains('\n') || e.Message.Contains('\r'))
                throw new FuzzViolation($"{target.Name}: multi-line message: {e.Message}", e);
            if (!e.Message.Contains(folder, StringComparison.Ordinal))
                throw new FuzzViolation($"{target.Name}: message does not name the file: {e.Message}", e);
            CheckCost(target, clock.Elapsed, GC.GetAllocatedBytesForCurrentThread() - before, limit);
            return;
        }
        catch (Exception e) when (e is not FuzzViolation)
        {
            throw new FuzzViolation($"{target.Name}: {e.GetType().Name} escaped (expected {target.FailureType.Name}): {e.Message.ReplaceLineEndings(" ")}", e);
        }
        CheckCost(target, clock.Elapsed, GC.GetAllocatedBytesForCurrentThread() - before, limit);
        // Tensors may hold at most the input's bytes (its decompressed bytes for gzip); a decoded image at most what
        // its compressed bytes can expand to (ImageFolderReader's limit).
        var nativeLimit = target.Name == "image" ? Math.Max(16L << 20, 2048L * bytes.Length)
            : Math.Max(bytes.Length, 1) * (target.GzipInner ? 1100L : 1L);
        if (nativeBytes > nativeLimit)
            throw new FuzzViolation($"{target.Name}: allocated {nativeBytes} bytes of tensors/pixels from a {bytes.Length}-byte input");
    }

    private static void CheckCost(FuzzTarget target, TimeSpan elapsed, long allocated, long limit)
    {
        if (elapsed > HangLimit)
            throw new FuzzViolation($"{target.Name}: took {elapsed.TotalSeconds:F1} s (hang)");
        if (allocated > limit)
            throw new FuzzViolation($"{target.Name}: allocated {allocated} managed bytes (limit {limit})");
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var memory = new MemoryStream();
        using (var z = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(bytes);
        return memory.ToArray();
    }

    public static byte[] Gunzip(byte[] bytes)
    {
        using var z = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        z.CopyTo(memory);
        return memory.ToArray();
    }
}

using System.Globalization;

namespace AdaptSharp.Cluster;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/>, written "K/N" with K counting from 1 (1 &lt;= K &lt;= N), as in
/// <c>--shard 2/4</c>. Schedulers number from 0 (Slurm's <c>--array=0-3</c>, Kubernetes' completion index);
/// <see cref="ShardEnvironment"/> converts. A shard owns a contiguous range of items (<see cref="Range"/>): the
/// N ranges cover 0..total-1 exactly once, in order, and differ in size by at most one.
/// </summary>
public sealed record ShardSpec
{
    public ShardSpec(int index, int count)
    {
        if (count < 1 || index < 1 || index > count)
            throw new ArgumentException($"shard: expected K/N with 1 <= K <= N (K counts from 1), got '{index}/{count}'");
        Index = index;
        Count = count;
    }

    /// <summary>The whole job as one shard (1/1).</summary>
    public static ShardSpec Whole { get; } = new(1, 1);

    /// <summary>K, counting from 1.</summary>
    public int Index { get; }

    /// <summary>N, the number of shards.</summary>
    public int Count { get; }

    public bool IsWhole => Count == 1;

    /// <summary>Parses "K/N" (1 &lt;= K &lt;= N); anything else is an <see cref="ArgumentException"/> quoting the text.</summary>
    public static ShardSpec Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var k)
            || !int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || n < 1 || k < 1 || k > n)
            throw new ArgumentException($"--shard: expected K/N with 1 <= K <= N (K counts from 1), got '{text}'");
        return new ShardSpec(k, n);
    }

    /// <summary>This shard's items of 0..<paramref name="total"/>-1: [Start, End), empty when total &lt; N.</summary>
    public (int Start, int End) Range(int total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        return (Boundary(Index - 1, total), Boundary(Index, total));
    }

    /// <summary>
    /// This shard's batches of an evaluation of <paramref name="points"/> points in batches of <paramref name="batchSize"/>:
    /// [Start, End) over batch indices 0..ceil(points / batchSize)-1.
    /// </summary>
    public (int Start, int End) BatchRange(int points, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(points);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return Range(BatchCount(points, batchSize));
    }

    /// <summary>Batches of <paramref name="batchSize"/> covering <paramref name="points"/> points (the last may be short).</summary>
    public static int BatchCount(int points, int batchSize) => (int)(((long)points + batchSize - 1) / batchSize);

    /// <summary>The folder a shard writes under the evaluation's output folder: shard-K-of-N.</summary>
    public string DirectoryName => $"shard-{Index}-of-{Count}";

    /// <summary>A glob matching every <see cref="DirectoryName"/>.</summary>
    internal const string DirectoryPattern = "shard-*-of-*";

    /// <summary>The shard a folder named by <see cref="DirectoryName"/> belongs to; null for any other name.</summary>
    internal static ShardSpec? FromDirectoryName(string name)
    {
        var parts = name.Split('-');
        return parts is ["shard", var k, "of", var n]
               && int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
               && int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
               && count >= 1 && index >= 1 && index <= count
            ? new ShardSpec(index, count)
            : null;
    }

    private int Boundary(int k, int total) => (int)((long)k * total / Count);

    public override string ToString() => $"{Index}/{Count}";
}

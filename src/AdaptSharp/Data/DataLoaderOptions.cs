namespace AdaptSharp.Data;

/// <summary>
/// How a <see cref="DataLoader"/> batches a dataset.
/// ShuffleSeed null keeps file order; otherwise epoch e's order is a permutation drawn from
/// DeterministicRandom(Derive(ShuffleSeed, e)). Augmentation of batch b in epoch e draws from
/// DeterministicRandom(Derive(AugmentationSeed, e, b)). Prefetch is how many finished batches a
/// background task may hold ready (0 = build each batch on the consumer's thread).
/// </summary>
public sealed record DataLoaderOptions
{
    public int BatchSize { get; init; } = 64;
    public long? ShuffleSeed { get; init; }
    public bool DropLast { get; init; }
    public TransformPipeline Transform { get; init; } = new();
    public long AugmentationSeed { get; init; }
    public int Prefetch { get; init; } = 2;

    public void Validate()
    {
        if (BatchSize <= 0) throw new ArgumentException($"batch size must be positive, got {BatchSize}");
        if (Prefetch < 0) throw new ArgumentException($"prefetch must be >= 0, got {Prefetch}");
    }
}

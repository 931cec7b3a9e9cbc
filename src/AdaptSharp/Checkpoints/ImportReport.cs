namespace AdaptSharp.Checkpoints;

/// <summary>What a checkpoint import did to the model, for the user to read.</summary>
public sealed record ImportReport
{
    /// <summary>The file (or label) the weights came from.</summary>
    public required string Source { get; init; }

    /// <summary>Backbone fingerprint of the source's tensors (see <see cref="BackboneFingerprint"/>).</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Tensors copied from the checkpoint, resampled ones included.</summary>
    public required int LoadedCount { get; init; }

    /// <summary>Model tensors that got a fresh initialisation instead of checkpoint values (e.g. the head).</summary>
    public IReadOnlyList<ImportNote> Reinitialised { get; init; } = [];

    /// <summary>Tensors adapted to the model's grid or patch size.</summary>
    public IReadOnlyList<ImportNote> Resampled { get; init; } = [];

    /// <summary>Checkpoint tensors the model has no place for and that were left out (e.g. a head on a head-less model).</summary>
    public IReadOnlyList<ImportNote> Dropped { get; init; } = [];

    public bool IsExact => Reinitialised.Count == 0 && Resampled.Count == 0 && Dropped.Count == 0;

    public IEnumerable<string> Lines()
    {
        yield return $"loaded {LoadedCount} tensors from {Source} (fingerprint {BackboneFingerprint.Short(Fingerprint)})";
        foreach (var n in Resampled)
            yield return $"resampled {n}";
        foreach (var n in Reinitialised)
            yield return $"re-initialised {n}";
        foreach (var n in Dropped)
            yield return $"dropped {n}";
    }

    public override string ToString() => string.Join(Environment.NewLine, Lines());
}

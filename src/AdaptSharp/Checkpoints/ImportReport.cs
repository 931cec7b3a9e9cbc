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

    /// <summary>
    /// The adaptations in at most two lines (resampled tensors; re-initialised and dropped ones), for every command
    /// that imports a checkpoint to print; empty when the checkpoint was used as is.
    /// </summary>
    public IReadOnlyList<string> Summary()
    {
        var lines = new List<string>();
        if (Resampled.Count > 0)
            lines.Add("import: resampled " + string.Join("; ", Resampled.Select(n => $"{n.Tensor} ({n.Detail})")));
        var changed = new List<string>();
        if (Reinitialised.Count > 0)
            changed.Add($"head re-initialised ({Reinitialised[0].Detail})");
        if (Dropped.Count > 0)
            changed.Add($"dropped {string.Join(", ", Dropped.Select(n => n.Tensor))} ({Dropped[0].Detail})");
        if (changed.Count > 0)
            lines.Add("import: " + string.Join("; ", changed));
        return lines;
    }

    public override string ToString() => string.Join(Environment.NewLine, Lines());
}

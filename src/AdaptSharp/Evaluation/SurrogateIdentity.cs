namespace AdaptSharp.Evaluation;

/// <summary>
/// Which surrogate a transfer source was: its name (the "NAME" of "transfer:NAME") and the fingerprints of its weights,
/// as for the evaluated model (<see cref="ModelFingerprint"/>). Resuming and merging require the same list.
/// </summary>
public sealed record SurrogateIdentity(string Name, string ModelFingerprint, string? PromptFingerprint)
{
    public override string ToString() =>
        $"{Name} ({Short(ModelFingerprint)}{(PromptFingerprint is { } p ? "+" + Short(p) : "")})";

    /// <summary>"none", or the identities in order, comma-separated: what a refusal names.</summary>
    internal static string Describe(IReadOnlyList<SurrogateIdentity> surrogates) =>
        surrogates.Count == 0 ? "none" : string.Join(", ", surrogates);

    private static string Short(string hex) => hex.Length > 12 ? hex[..12] : hex;
}

using AdaptSharp.Attacks;
namespace AdaptSharp.Evaluation;

/// <summary>One column of a suite (and of flags.npy): an attack generated from one source (for a transfer, one surrogate).</summary>
public sealed record SuiteColumn(string Attack, AttackSource Source, string? Surrogate = null)
{
    /// <summary>"pgd10/adaptive", "clean/adaptive", "pgd10/transfer:NAME", ...: unique within a suite, used to match columns on resume.</summary>
    public string Key => $"{Attack}/{AttackSources.Format(Source, Surrogate)}";

    public override string ToString() => Key;
}

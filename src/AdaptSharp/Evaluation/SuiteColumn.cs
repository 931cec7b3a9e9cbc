using AdaptSharp.Attacks;
namespace AdaptSharp.Evaluation;

/// <summary>One column of a suite (and of flags.npy): an attack generated from one source.</summary>
public sealed record SuiteColumn(string Attack, AttackSource Source)
{
    /// <summary>"pgd10/adaptive", "clean/adaptive", ...: unique within a suite, used to match columns on resume.</summary>
    public string Key => $"{Attack}/{AttackSources.Format(Source)}";

    public override string ToString() => Key;
}

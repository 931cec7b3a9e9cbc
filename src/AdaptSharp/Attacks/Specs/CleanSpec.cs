namespace AdaptSharp.Attacks;

/// <summary>No attack: f_P on the clean images (the first column of every suite).</summary>
public sealed record CleanSpec : AttackSpec
{
    public override bool IsWhiteBox => false;

    public override Attack Create(ThreatModel threat, long seed) => throw new InvalidOperationException("clean is not an attack");

    public override string Describe(ThreatModel threat) => "no attack; f_P on clean images";

    public override string ToString() => "clean";
}

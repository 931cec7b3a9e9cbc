namespace AdaptSharp.Attacks;

/// <summary>fab-t: targeted FAB, 9 target classes x 100 iterations; fab: untargeted FAB, 100 iterations; one restart.</summary>
public sealed record FabSpec(bool Targeted) : AttackSpec
{
    public override bool IsWhiteBox => true;

    public override Attack Create(ThreatModel threat, long seed) =>
        Targeted ? new FabTargeted(threat, new FabOptions(), seed, ToString()) : new Fab(threat, new FabOptions(), seed, ToString());

    public override string Describe(ThreatModel threat) =>
        Targeted ? "9 target classes x 100 iterations, 1 restart(s)" : "100 iterations, 1 restart(s), untargeted";

    public override string ToString() => Targeted ? "fab-t" : "fab";
}

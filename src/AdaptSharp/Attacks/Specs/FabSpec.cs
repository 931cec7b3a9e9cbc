namespace AdaptSharp.Attacks;

/// <summary>fab-t: targeted FAB, 9 target classes x 100 iterations; fab: untargeted FAB, 100 iterations; one restart.</summary>
public sealed record FabSpec(bool Targeted) : AttackSpec
{
    public FabOptions Options => new(TargetClasses: Targeted ? 9 : 0);

    public override Attack Create(ThreatModel threat, long seed) => new Fab(threat, Options, seed, ToString());

    public override string Describe(ThreatModel threat) =>
        (Targeted ? $"{Options.TargetClasses} target classes x " : "") + $"{Options.Iterations} iterations, {Options.Restarts} restart(s)" + (Targeted ? "" : ", untargeted");

    public override string ToString() => Targeted ? "fab-t" : "fab";
}

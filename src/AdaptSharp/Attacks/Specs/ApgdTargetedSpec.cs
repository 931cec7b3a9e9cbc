namespace AdaptSharp.Attacks;

/// <summary>apgd-t: APGD on the targeted DLR loss, 9 target classes x 100 iterations (AutoAttack standard).</summary>
public sealed record ApgdTargetedSpec : AttackSpec
{
    public ApgdOptions Options => new(TargetClasses: 9);

    public override Attack Create(ThreatModel threat, long seed) => new Apgd(threat, Options, seed, ToString());

    public override string Describe(ThreatModel threat) => $"{Options.TargetClasses} target classes x {Options.Iterations} iterations, targeted DLR loss";

    public override string ToString() => "apgd-t";
}

namespace AdaptSharp.Attacks;

/// <summary>apgd-t: APGD on the targeted DLR loss, 9 target classes x 100 iterations (AutoAttack standard).</summary>
public sealed record ApgdTargetedSpec : AttackSpec
{
    public const int TargetClasses = 9;
    public const int Iterations = 100;

    public override bool IsWhiteBox => true;

    public override Attack Create(ThreatModel threat, long seed) => new ApgdTargeted(threat, new ApgdTargetedOptions(TargetClasses, Iterations), seed, ToString());

    public override string Describe(ThreatModel threat) => $"{TargetClasses} target classes x {Iterations} iterations, targeted DLR loss";

    public override string ToString() => "apgd-t";
}

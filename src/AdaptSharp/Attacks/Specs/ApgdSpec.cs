namespace AdaptSharp.Attacks;

/// <summary>apgd-ce / apgd-dlr: untargeted APGD, 100 iterations, one restart.</summary>
public sealed record ApgdSpec(LossSpec Loss) : AttackSpec
{
    public ApgdOptions Options => new(100, 1, Loss.Function());

    public override Attack Create(ThreatModel threat, long seed) => new Apgd(threat, Options, seed, ToString());

    public override string Describe(ThreatModel threat) => $"{Options.Iterations} iterations, {Options.Restarts} restart(s), {Loss} loss";

    public override string ToString() => Loss.Kind == LossKind.Dlr ? "apgd-dlr" : "apgd-ce";
}

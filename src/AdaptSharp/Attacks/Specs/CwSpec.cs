using System.Globalization;

namespace AdaptSharp.Attacks;

/// <summary>
/// cwK: CW-inf, PGD with K steps of eps/4 on the standard CW margin loss, capped at kappa = 10 on the misclassified side
/// (the paper's code floors the loss at -10 instead; see docs/evaluation.md).
/// </summary>
public sealed record CwSpec(int Steps = 20) : AttackSpec
{
    public LossSpec Loss { get; init; } = LossSpec.CwMargin();

    public override Attack Create(ThreatModel threat, long seed) =>
        new Pgd(threat, new PgdOptions(Steps, threat.Eps / 4.0, Loss: Loss.Function()), seed, ToString());

    public override string Describe(ThreatModel threat) =>
        $"{Steps} steps of {Num(threat.Eps / 4.0)}, 1 restart(s), {Loss} loss, uniform start";

    public override string ToString() => $"cw{Steps.ToString(CultureInfo.InvariantCulture)}";
}

using System.Globalization;

namespace AdaptSharp.Attacks;

/// <summary>pgdK[xR]: K steps of 2.5 eps/K from a uniform start, R restarts, cross-entropy.</summary>
public sealed record PgdSpec(int Steps = 10, int Restarts = 1) : AttackSpec
{
    public override bool IsWhiteBox => true;

    public PgdOptions Options => new(Steps, Restarts: Restarts);

    public override Attack Create(ThreatModel threat, long seed) => new Pgd(threat, Options, seed, ToString());

    public override string Describe(ThreatModel threat) =>
        $"{Steps} steps of {Num(Options.ResolveStepSize(threat))}, {Restarts} restart(s), CE loss, uniform start";

    public override string ToString() =>
        Restarts == 1 ? $"pgd{Steps.ToString(CultureInfo.InvariantCulture)}" : string.Create(CultureInfo.InvariantCulture, $"pgd{Steps}x{Restarts}");
}

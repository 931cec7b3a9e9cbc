using System.Globalization;

namespace AdaptSharp.Attacks;

/// <summary>rays[Q]: RayS, hard-label, Q queries (10,000 by default).</summary>
public sealed record RaysSpec(int Queries = 10_000) : AttackSpec
{
    public override bool IsBlackBox => true;

    public override Attack Create(ThreatModel threat, long seed) => new Rays(threat, new RaysOptions(Queries), seed, ToString());

    public override string Describe(ThreatModel threat) => $"{Queries} queries, hard-label";

    public override string ToString() => Queries == 10_000 ? "rays" : $"rays{Queries.ToString(CultureInfo.InvariantCulture)}";
}

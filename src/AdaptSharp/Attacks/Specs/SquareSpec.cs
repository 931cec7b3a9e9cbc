using System.Globalization;

namespace AdaptSharp.Attacks;

/// <summary>square[Q]: Square Attack with Q queries (5,000 by default), p_init 0.8, one restart.</summary>
public sealed record SquareSpec(int Queries = 5000) : AttackSpec
{
    public override bool IsBlackBox => true;

    public SquareOptions Options => new(Queries);

    public override Attack Create(ThreatModel threat, long seed) => new Square(threat, Options, seed, ToString());

    public override string Describe(ThreatModel threat) => $"{Queries} queries, p_init {Num(Options.PInit)}, {Options.Restarts} restart(s)";

    public override string ToString() => Queries == 5000 ? "square" : $"square{Queries.ToString(CultureInfo.InvariantCulture)}";
}

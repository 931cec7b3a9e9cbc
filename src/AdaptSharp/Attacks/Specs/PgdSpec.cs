using System.Globalization;

namespace AdaptSharp.Attacks;

/// <summary>
/// pgdK[xR][-stepS][-nostart]: K steps of S (default 2.5 eps/K), R restarts, cross-entropy, from a uniform start
/// in the ball (or the clean point with -nostart).
/// </summary>
public sealed record PgdSpec(int Steps = 10, int Restarts = 1, double? StepSize = null, bool RandomStart = true) : AttackSpec
{
    public PgdOptions Options => new(Steps, StepSize, Restarts, RandomStart ? PgdStart.Uniform : PgdStart.None);

    public override Attack Create(ThreatModel threat, long seed) => new Pgd(threat, Options, seed, ToString());

    public override string Describe(ThreatModel threat) =>
        $"{Steps} steps of {Num(Options.ResolveStepSize(threat))}, {Restarts} restart(s), CE loss, {(RandomStart ? "uniform" : "clean")} start";

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"pgd{Steps}{(Restarts == 1 ? "" : $"x{Restarts}")}{(StepSize is { } s ? $"-step{s:R}" : "")}{(RandomStart ? "" : "-nostart")}");
}

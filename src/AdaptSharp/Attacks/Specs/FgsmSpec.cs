namespace AdaptSharp.Attacks;

/// <summary>fgsm: one step of eps from the clean point; fgsm-rs: the paper's (uniform start, step 2 eps, projected).</summary>
public sealed record FgsmSpec(bool RandomStart) : AttackSpec
{
    public FgsmOptions Options(ThreatModel threat) => RandomStart ? FgsmOptions.PaperEvaluation(threat) : new FgsmOptions();

    public override Attack Create(ThreatModel threat, long seed) => new Fgsm(threat, Options(threat), seed, ToString());

    public override string Describe(ThreatModel threat)
    {
        var o = Options(threat);
        return $"one step of {Num(o.StepSize ?? threat.Eps)}" +
               (o.RandomStartMultiplier > 0 ? $" from a uniform start of radius {Num(o.RandomStartMultiplier * threat.Eps)}" : " from the clean point") +
               ", CE, projected";
    }

    public override string ToString() => RandomStart ? "fgsm-rs" : "fgsm";
}

namespace AdaptSharp.Attacks;

/// <summary>
/// One attack of a cascade or suite. <see cref="RobustAfter"/> is the pointwise worst case after this attack
/// (and all earlier cascade members); <see cref="Attacked"/> marks the points this attack was run on and
/// <see cref="Fooled"/> those it broke. For an AutoAttack run inside a suite, <see cref="Components"/> holds
/// its attacks (flags over the whole data set; their RobustAfter/Accuracy are the AutoAttack cascade's own
/// running worst case restricted to the points it attacked).
/// </summary>
public sealed record AttackStageResult(
    string Name,
    bool Cascade,
    long Seed,
    bool[] Attacked,
    bool[] Fooled,
    bool[] RobustAfter,
    double Accuracy,
    double CumulativeAccuracy,
    double MaxPerturbation,
    TimeSpan Elapsed,
    long GradientEvaluations,
    long Queries,
    IReadOnlyList<AttackStageResult>? Components = null)
{
    public int AttackedCount => Attacked.Count(a => a);

    public int FooledCount => Fooled.Count(f => f);
}

namespace AdaptSharp.Attacks;

/// <summary>
/// One attack of an <see cref="AutoAttack"/> cascade. <see cref="RobustAfter"/> is the pointwise worst case after this
/// attack and all earlier ones (<see cref="CumulativeAccuracy"/> its mean); <see cref="Attacked"/> marks the points this
/// attack was run on and <see cref="Fooled"/> those it broke.
/// </summary>
public sealed record AttackStageResult(
    string Name,
    bool[] Attacked,
    bool[] Fooled,
    bool[] RobustAfter,
    double CumulativeAccuracy,
    double MaxPerturbation,
    TimeSpan Elapsed,
    long GradientEvaluations,
    long Queries)
{
    public int AttackedCount => Attacked.Count(a => a);

    public int FooledCount => Fooled.Count(f => f);
}

namespace AdaptSharp.Attacks;

/// <summary>
/// Outcome of an AutoAttack run: clean accuracy first, then one stage per attack with cumulative robust
/// accuracy, and the sanity checks AutoAttack performs.
/// </summary>
public sealed record AutoAttackResult(
    AutoAttackVersion Version,
    ThreatModel Threat,
    long Seed,
    string GeneratingModel,
    string ScoringModel,
    int Count,
    bool[] CleanCorrect,
    double CleanAccuracy,
    IReadOnlyList<AttackStageResult> Stages,
    bool[] Robust,
    double RobustAccuracy,
    bool RandomizedOutput,
    int ZeroGradientPoints,
    int BlackBoxOnlyBreaks,
    IReadOnlyList<string> Warnings);

namespace AdaptSharp.Attacks;

/// <summary>
/// Outcome of an <see cref="AttackSuite"/> run: clean flags, one stage per attack (own and cumulative
/// accuracy, per-point flags) and the pointwise worst case over all attacks.
/// </summary>
public sealed record SuiteResult(
    ThreatModel Threat,
    string GeneratingModel,
    string ScoringModel,
    int Count,
    bool[] CleanCorrect,
    double CleanAccuracy,
    IReadOnlyList<AttackStageResult> Stages,
    bool[] WorstCaseRobust,
    double WorstCaseAccuracy);

using System.Text.Json;
using System.Text.Json.Serialization;

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
    IReadOnlyList<string> Warnings)
{
    /// <summary>JSON with every flag.</summary>
    public string ToJson() => JsonSerializer.Serialize(this,
        new JsonSerializerOptions { WriteIndented = true, Converters = { new JsonStringEnumConverter() } });
}

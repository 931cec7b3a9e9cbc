using System.Text.Json;
using System.Text.Json.Serialization;

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
    double WorstCaseAccuracy)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>JSON with every flag, for reports and for resuming a run.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static SuiteResult FromJson(string json) =>
        JsonSerializer.Deserialize<SuiteResult>(json, Json) ?? throw new JsonException("empty suite result");
}

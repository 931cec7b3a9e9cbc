using AdaptSharp.Attacks;
namespace AdaptSharp.Evaluation;

/// <summary>
/// One suite column's result. <see cref="RobustAccuracy"/>: fraction of the evaluated points still correctly
/// classified by f_P under this attack (and clean). <see cref="CumulativeRobustAccuracy"/>: fraction robust to
/// this attack and every column before it (pointwise worst case). <see cref="PointsDone"/> &lt; N marks a
/// partial (resumable) column; the accuracies then cover the points done so far. <see cref="Surrogate"/>: the surrogate
/// of a transfer column (a surrogate's name or "ensemble"), null otherwise.
/// </summary>
public sealed record AttackResult(
    [property: System.Text.Json.Serialization.JsonPropertyName("name")] AttackSpec Attack,
    AttackSource Source,
    string Settings,
    int PointsDone,
    int Robust,
    double RobustAccuracy,
    double CumulativeRobustAccuracy,
    double MaxPerturbation,
    double Seconds,
    long GradientEvaluations,
    long Queries,
    string? Surrogate = null)
{
    /// <summary>The attack's canonical name (report.json's "name").</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Name => Attack.ToString();

    /// <summary>"adaptive", "agnostic" or "transfer:NAME".</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string SourceName => AttackSources.Format(Source, Surrogate);
}

using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// A plan run as saved in report.json (one column of flags.npy): what it was (key, attack spec, source and, for a
/// transfer run, its surrogate, threat model, points) and how far it got. Resuming matches saved runs by key and refuses one whose work differs.
/// </summary>
public sealed record RunRecord(
    string Key,
    AttackSpec Attack,
    AttackSource Source,
    ThreatModel Threat,
    int Points,
    RunRole Role,
    string? Purpose,
    int Done,
    int Robust,
    double MaxPerturbation,
    double Seconds,
    long GradientEvaluations,
    long Queries,
    string? Surrogate = null)
{
    /// <summary>"adaptive", "agnostic" or "transfer:NAME".</summary>
    public string SourceName => AttackSources.Format(Source, Surrogate);

    public double Accuracy => Done == 0 ? 0.0 : (double)Robust / Done;

    /// <summary>What the run does: "pgd10/adaptive at Linf eps=0.1 on 200 points".</summary>
    internal string Work => $"{Attack}/{SourceName} at {Threat} on {Points} points";
}

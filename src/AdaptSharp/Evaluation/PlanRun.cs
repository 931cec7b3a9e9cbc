using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// One keyed run of an <see cref="EvalPlan"/>: <see cref="Spec"/> generated on the view of <see cref="Source"/>,
/// always scored on f_P, under <see cref="Threat"/>, on the first <see cref="Points"/> points, batch by batch with
/// the seed derived from (evaluation seed, <see cref="SeedKey"/>, batch index). It attacks the points still robust
/// in run <see cref="Over"/> (null: the points f_P classifies correctly), so a cascade is a chain of runs. An
/// <see cref="AutoAttackSpec"/> run attacks nothing itself: its flags are those of its last stage (<see cref="Over"/>).
/// A <see cref="AttackSource.Transfer"/> run is generated, every stage of it, on surrogate <see cref="Surrogate"/>.
/// </summary>
public sealed record PlanRun(string Key, AttackSpec Spec, AttackSource Source, ThreatModel Threat, int Points, RunRole Role)
{
    public required string SeedKey { get; init; }

    public string? Over { get; init; }

    /// <summary>The surrogate a transfer run is generated on (a surrogate's name or "ensemble"); null for other sources.</summary>
    public string? Surrogate { get; init; }

    /// <summary>"adaptive", "agnostic" or "transfer:NAME".</summary>
    public string SourceName => AttackSources.Format(Source, Surrogate);

    /// <summary>What a checklist run is for (<see cref="MaskingChecklist"/>'s purposes); null otherwise.</summary>
    public string? Purpose { get; init; }

    /// <summary>True when a saved run under the same key did the same work (spec, source and surrogate, threat model and points).</summary>
    public bool SameWorkAs(RunRecord saved) =>
        saved.Attack == Spec && saved.Source == Source && saved.Surrogate == Surrogate && saved.Threat == Threat && saved.Points == Points;
}

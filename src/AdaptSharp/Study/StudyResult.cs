namespace AdaptSharp.Study;

/// <summary>
/// What a study's or the demo's report shows: the plan, its finished runs in plan order, the unfinished ones, the
/// backbone (with where it came from, its size and its clean accuracy when the template shows them) and the machine.
/// </summary>
internal sealed record StudyResult(StudyPlan Plan, string Backbone, IReadOnlyList<StudyRunResult> Runs, IReadOnlyList<StudyRun> Missing, string Machine)
{
    /// <summary>The `adapt tune` command behind each run's artifact.</summary>
    public Func<StudyRun, string> Command { get; init; } = _ => "";

    public string BackboneSource { get; init; } = "";

    public long BackboneBytes { get; init; }

    public double BackboneCleanAccuracy { get; init; } = double.NaN;

    public double TotalSeconds { get; init; }

    public string CreatedUtc { get; init; } = "";
}

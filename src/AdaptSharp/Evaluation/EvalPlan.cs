using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// An ordered list of keyed runs (<see cref="Runs"/>, in execution order: a cascade's stages before the run that
/// reads them). <see cref="Layout"/> is the storage order of report.json's runs and flags.npy's columns: the suite
/// columns first, in order, then every other run.
/// </summary>
public sealed record EvalPlan(IReadOnlyList<PlanRun> Runs)
{
    public const string CleanKey = "clean/adaptive";

    public IReadOnlyList<PlanRun> Layout => [.. Runs.Where(r => r.Role == RunRole.Column), .. Runs.Where(r => r.Role != RunRole.Column)];

    public IReadOnlyList<PlanRun> Columns => Runs.Where(r => r.Role == RunRole.Column).ToList();

    /// <summary>
    /// Adds <paramref name="run"/> to <paramref name="runs"/>; an AutoAttack run becomes its stages (each over the
    /// points the previous one left robust, all with the run's seed key) followed by the run itself.
    /// </summary>
    public static void Add(List<PlanRun> runs, PlanRun run)
    {
        if (runs.Any(r => r.Key == run.Key))
            throw new ArgumentException($"the plan already has a run '{run.Key}'");
        if (run.Spec is AutoAttackSpec aa)
            run = run with { Over = AddStages(runs, run, aa.Stages.Select(s => (s.StageName, (AttackSpec)s))) };
        runs.Add(run);
    }

    /// <summary>
    /// Adds the runs "KEY:NAME" of a cascade's <paramref name="stages"/>, in order, each over the points the previous one
    /// left robust (the first over <paramref name="run"/>'s), all with <paramref name="run"/>'s seed key; returns the last key.
    /// </summary>
    internal static string? AddStages(List<PlanRun> runs, PlanRun run, IEnumerable<(string Name, AttackSpec Spec)> stages)
    {
        var over = run.Over;
        foreach (var (name, spec) in stages)
        {
            var key = $"{run.Key}:{name}";
            runs.Add(run with { Key = key, Spec = spec, Role = RunRole.Stage, Over = over, Purpose = null });
            over = key;
        }
        return over;
    }
}

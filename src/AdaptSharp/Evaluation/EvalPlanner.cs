using System.Globalization;
using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// Builds the <see cref="EvalPlan"/> of an evaluation: the suite columns (clean first, each white-box attack from
/// every source, then transferred from every surrogate and their ensemble), the checklist's extra runs on the first points (the suite's PGD adaptive and prompt-agnostic, FGSM,
/// PGD with 5x the steps and 2 restarts, PGD at a very large eps) and the eps sweep.
/// </summary>
internal static class EvalPlanner
{
    public static EvalPlan Build(EvaluationOptions o, int n, bool hasPrompts, long pixelsPerImage)
    {
        var runs = new List<PlanRun>();
        // Every source of an attack shares its seed key: a transfer from the target itself redoes the adaptive run.
        foreach (var (spec, source, surrogate) in Columns(o))
            EvalPlan.Add(runs, new PlanRun(ColumnKey(spec, source, surrogate), spec, source, o.Threat, n, RunRole.Column)
            {
                SeedKey = spec.ToString(),
                Surrogate = surrogate,
            });
        if (o.RunChecks)
            foreach (var run in CheckRuns(o, Math.Min(o.CheckPoints, n), hasPrompts, pixelsPerImage))
                EvalPlan.Add(runs, run);
        foreach (var run in SweepRuns(o, n))
            EvalPlan.Add(runs, run);
        return new EvalPlan(runs);
    }

    public static string ColumnKey(AttackSpec spec, AttackSource source, string? surrogate = null) =>
        $"{spec}/{AttackSources.Format(source, surrogate)}";

    /// <summary>The transfer sources: each surrogate, then their ensemble when there are two or more.</summary>
    public static IReadOnlyList<string> TransferSources(EvaluationOptions o) =>
        o.Surrogates.Count > 1 ? [.. o.Surrogates, Models.SurrogateEnsemble.SourceName] : o.Surrogates;

    /// <summary>
    /// The suite's columns in order: clean first, then each attack for each applicable source and, when it is white-box,
    /// from each transfer source (surrogate null for the others).
    /// </summary>
    public static IReadOnlyList<(AttackSpec Spec, AttackSource Source, string? Surrogate)> Columns(EvaluationOptions o)
    {
        var columns = new List<(AttackSpec, AttackSource, string?)> { (new CleanSpec(), AttackSource.Adaptive, null) };
        foreach (var spec in o.Attacks.Distinct().Where(s => s is not CleanSpec))
        {
            foreach (var source in spec.IsWhiteBox ? o.Sources.Distinct() : [AttackSource.Adaptive])
                columns.Add((spec, source, null));
            if (spec.IsWhiteBox)
                foreach (var surrogate in TransferSources(o))
                    columns.Add((spec, AttackSource.Transfer, surrogate));
        }
        return columns;
    }

    /// <summary>The suite's first PGD, else PGD-10: the base of the checklist and of the default sweep.</summary>
    public static PgdSpec BasePgd(EvaluationOptions o) => o.Attacks.OfType<PgdSpec>().FirstOrDefault() ?? new PgdSpec(10);

    private static IEnumerable<PlanRun> CheckRuns(EvaluationOptions o, int m, bool hasPrompts, long pixelsPerImage)
    {
        var pgd = BasePgd(o);
        var largeEps = o.LargeEps ?? (o.Threat.Norm == AttackNorm.LInf ? 0.5 : 0.5 * Math.Sqrt(pixelsPerImage));
        // One seed key per attack for all checklist runs, so the adaptive and agnostic runs share their random starts.
        PlanRun Check(string purpose, AttackSpec spec, AttackSource source, ThreatModel threat) =>
            new($"check:{purpose}", spec, source, threat, m, RunRole.Check) { SeedKey = $"check|{spec}", Purpose = purpose };
        yield return Check(MaskingChecklist.PurposeConvergenceBase, pgd, AttackSource.Adaptive, o.Threat);
        if (hasPrompts)
            yield return Check(MaskingChecklist.PurposeAgnosticPgd, pgd, AttackSource.Agnostic, o.Threat);
        yield return Check(MaskingChecklist.PurposeFgsm, new FgsmSpec(RandomStart: false), AttackSource.Adaptive, o.Threat);
        yield return Check(MaskingChecklist.PurposeConvergenceStrong, new PgdSpec(pgd.Steps * 5, 2), AttackSource.Adaptive, o.Threat);
        yield return Check(MaskingChecklist.PurposeLargeEps, new PgdSpec(Math.Max(pgd.Steps, 20)), AttackSource.Adaptive,
            o.Threat with { Eps = largeEps });
    }

    private static IEnumerable<PlanRun> SweepRuns(EvaluationOptions o, int n)
    {
        var spec = o.SweepAttack ?? BasePgd(o);
        foreach (var eps in o.EpsSweep.Distinct())
            foreach (var source in spec.IsWhiteBox ? o.Sources.Distinct() : [AttackSource.Adaptive])
            {
                var e = eps.ToString("R", CultureInfo.InvariantCulture);
                yield return new PlanRun($"sweep:{e}:{AttackSources.Format(source)}", spec, source, o.Threat with { Eps = eps }, n, RunRole.Sweep)
                {
                    SeedKey = $"sweep-{e}|{spec}",
                };
            }
    }
}

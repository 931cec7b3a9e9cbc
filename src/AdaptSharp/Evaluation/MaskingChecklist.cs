using AdaptSharp.Attacks;
using static AdaptSharp.Evaluation.ReportFormat;

namespace AdaptSharp.Evaluation;

/// <summary>
/// The gradient-masking checklist of EVALUATION.md, computed from suite results and the checklist's subset
/// runs. Each item is Passed, Flagged (with the numbers) or NotRun (with what it would need). "Clearly" and
/// "near 0" are defined by <see cref="ChecklistThresholds"/>.
/// </summary>
internal static class MaskingChecklist
{
    public const string PurposeConvergenceBase = "convergence-base";
    public const string PurposeConvergenceStrong = "convergence-strong";
    public const string PurposeLargeEps = "large-eps";
    public const string PurposeAgnosticPgd = "agnostic-pgd";
    public const string PurposeFgsm = "fgsm";

    public static readonly IReadOnlyList<string> Titles =
    [
        "adaptive PGD not clearly below prompt-agnostic PGD",
        "FGSM not clearly below PGD",
        "black-box attacks not clearly below white-box attacks",
        "accuracy near 0 at a very large eps",
        "more PGD steps and restarts do not lower accuracy clearly",
        "input gradients finite and non-zero",
    ];

    /// <summary>
    /// Evaluates all six checks. <paramref name="attacks"/>: complete suite columns on <paramref name="n"/> points;
    /// <paramref name="checkRuns"/>: subset runs (by purpose); <paramref name="gradients"/>: null if not measured;
    /// <paramref name="hasPrompts"/>: false makes check 1 not applicable (f_P = f_0).
    /// </summary>
    public static IReadOnlyList<CheckResult> Evaluate(
        IReadOnlyList<AttackResult> attacks, int n, IReadOnlyList<SubsetRun> checkRuns, GradientStatistics? gradients,
        bool hasPrompts, ChecklistThresholds thresholds, IReadOnlyList<RunRecord>? runs = null)
    {
        var complete = attacks.Where(a => a.PointsDone == n && n > 0).ToList();
        return
        [
            AdaptiveVersusAgnostic(complete, n, checkRuns, hasPrompts, thresholds),
            FgsmVersusPgd(complete, n, checkRuns, thresholds),
            BlackBoxVersusWhiteBox(complete, n, runs ?? [], thresholds),
            LargeEps(checkRuns, thresholds),
            Convergence(checkRuns, thresholds),
            Gradients(gradients, thresholds),
        ];
    }

    private static CheckResult AdaptiveVersusAgnostic(List<AttackResult> attacks, int n, IReadOnlyList<SubsetRun> runs, bool hasPrompts,
        ChecklistThresholds t)
    {
        if (!hasPrompts)
            return NotRun(1, "the model has no prompts (f_P = f_0)");
        // Prefer a suite attack run from both sources (a PGD if there is one), else the checklist's subset runs.
        var (label, adaptive, agnostic, m) = SourceGap.From(attacks, n).OrderByDescending(g => g.Attack is PgdSpec).FirstOrDefault() is { } gap
            ? (gap.Attack.ToString(), gap.Adaptive, gap.Agnostic, n)
            : Pair(runs, PurposeConvergenceBase, PurposeAgnosticPgd) is ({ } a, { } b, var points)
                ? ($"{a.Attack} on the checklist subset", a.Accuracy, b.Accuracy, points)
                : default;
        if (label is null)
            return NotRun(1, "needs a white-box attack (e.g. pgd10) with --source both, or the checklist runs");
        var flagged = t.IsClearlyBelow(adaptive, agnostic, m);
        return Result(1, flagged,
            $"{label}: adaptive {Percent(adaptive)} vs agnostic {Percent(agnostic)} " +
            $"(gap {PercentPoints(agnostic - adaptive)}, {Clear(t, agnostic, adaptive, m)})" +
            (flagged ? "; prompt-agnostic robustness is obfuscated: trust the adaptive numbers" : ""));
    }

    private static CheckResult FgsmVersusPgd(List<AttackResult> attacks, int n, IReadOnlyList<SubsetRun> runs, ChecklistThresholds t)
    {
        foreach (var source in new[] { AttackSource.Adaptive, AttackSource.Agnostic })
        {
            var fgsm = attacks.FirstOrDefault(a => a.Attack is FgsmSpec && a.Source == source);
            var pgd = attacks.FirstOrDefault(a => a.Attack is PgdSpec && a.Source == source);
            if (fgsm is null || pgd is null)
                continue;
            var flagged = t.IsClearlyBelow(fgsm.RobustAccuracy, pgd.RobustAccuracy, n);
            return Result(2, flagged,
                $"{AttackSources.Format(source)}: fgsm {Percent(fgsm.RobustAccuracy)} vs {pgd.Name} {Percent(pgd.RobustAccuracy)} " +
                $"({Clear(t, pgd.RobustAccuracy, fgsm.RobustAccuracy, n)})");
        }
        if (Pair(runs, PurposeFgsm, PurposeConvergenceBase) is not (var subsetFgsm, var subsetPgd, var m))
            return NotRun(2, "needs fgsm and a pgd attack from the same source, or the checklist runs");
        return Result(2, t.IsClearlyBelow(subsetFgsm.Accuracy, subsetPgd.Accuracy, m),
            $"checklist subset, adaptive: {Versus(subsetFgsm, subsetPgd, m, t)}");
    }

    private static CheckResult BlackBoxVersusWhiteBox(List<AttackResult> attacks, int n, IReadOnlyList<RunRecord> runs, ChecklistThresholds t)
    {
        // Transfer attacks never see f_P's gradients: like score-based attacks, they should not beat the adaptive ones.
        var blackBox = attacks.Where(a => a.Attack.IsBlackBox || a.Source == AttackSource.Transfer)
            .OrderBy(a => a.RobustAccuracy).FirstOrDefault();
        var whiteBox = attacks.Where(a => a.Attack.IsWhiteBox && a.Source == AttackSource.Adaptive)
            .OrderBy(a => a.RobustAccuracy).FirstOrDefault();
        if (blackBox is null || whiteBox is null)
            return CascadeBlackBox(runs, t) ?? NotRun(3, "needs a black-box attack (square or rays) or a transfer (--surrogate) and an adaptive white-box attack");
        var flagged = t.IsClearlyBelow(blackBox.RobustAccuracy, whiteBox.RobustAccuracy, n);
        var blackBoxLabel = blackBox.Source == AttackSource.Transfer ? $"{blackBox.Name} ({blackBox.SourceName})" : blackBox.Name;
        return Result(3, flagged,
            $"best black-box {blackBoxLabel} {Percent(blackBox.RobustAccuracy)} vs best white-box {whiteBox.Name} {Percent(whiteBox.RobustAccuracy)} " +
            $"({Clear(t, whiteBox.RobustAccuracy, blackBox.RobustAccuracy, n)})" +
            (flagged && blackBox.Source == AttackSource.Transfer ? "; a transfer from a surrogate beats the adaptive attacks: f_P's gradients are masked" : ""));
    }

    /// <summary>
    /// Item 3 from an AutoAttack cascade (as AutoAttack itself warns): its black-box stage attacks the points its
    /// white-box stages left robust, so any clear drop there is robustness that only held against gradients.
    /// </summary>
    private static CheckResult? CascadeBlackBox(IReadOnlyList<RunRecord> runs, ChecklistThresholds t)
    {
        if (BlackBoxStages(runs).FirstOrDefault() is not ({ } before, { } stage))
            return null;
        var flagged = t.IsClearlyBelow(stage.Accuracy, before.Accuracy, stage.Points);
        return Result(3, flagged,
            $"{stage.Attack} after the white-box stages: {Percent(before.Accuracy)} -> {Percent(stage.Accuracy)} " +
            $"({before.Robust - stage.Robust} point(s) only the black-box stage broke; {Clear(t, before.Accuracy, stage.Accuracy, stage.Points)})");
    }

    /// <summary>
    /// The finished black-box stages of adaptive cascades, each with the stage before it: <c>Before.Robust - Stage.Robust</c>
    /// points only the black-box stage broke.
    /// </summary>
    public static IEnumerable<(RunRecord Before, RunRecord Stage)> BlackBoxStages(IReadOnlyList<RunRecord> runs)
    {
        for (var i = 1; i < runs.Count; i++)
        {
            var (before, stage) = (runs[i - 1], runs[i]);
            if (stage.Role == RunRole.Stage && before.Role == RunRole.Stage && stage.Source == AttackSource.Adaptive && stage.Done == stage.Points
                && before.Done == before.Points && stage.Attack.IsBlackBox && stage.Key.StartsWith(before.Key.Split(':')[0], StringComparison.Ordinal))
                yield return (before, stage);
        }
    }

    private static CheckResult LargeEps(IReadOnlyList<SubsetRun> runs, ChecklistThresholds t)
    {
        var run = runs.FirstOrDefault(r => r.Purpose == PurposeLargeEps);
        if (run is null)
            return NotRun(4, "checklist runs skipped (--no-checks)");
        var flagged = run.Accuracy > t.LargeEpsMaxAccuracy;
        return Result(4, flagged,
            $"{run.Attack} at eps {run.Threat.Eps.ToString("G4", Culture)}: {Percent(run.Accuracy)} (near 0 means <= {Percent(t.LargeEpsMaxAccuracy)}, n={run.Points})");
    }

    private static CheckResult Convergence(IReadOnlyList<SubsetRun> runs, ChecklistThresholds t)
    {
        if (Pair(runs, PurposeConvergenceBase, PurposeConvergenceStrong) is not (var weak, var strong, var n))
            return NotRun(5, "checklist runs skipped (--no-checks)");
        var flagged = t.IsClearlyBelow(strong.Accuracy, weak.Accuracy, n);
        return Result(5, flagged, Versus(weak, strong, n, t) + (flagged ? "; the attack has not converged: use more steps/restarts" : ""));
    }

    /// <summary>The checklist's runs for two purposes and the points both cover; null when either was not run.</summary>
    private static (SubsetRun A, SubsetRun B, int Points)? Pair(IReadOnlyList<SubsetRun> runs, string a, string b) =>
        runs.FirstOrDefault(r => r.Purpose == a) is { } first && runs.FirstOrDefault(r => r.Purpose == b) is { } second
            ? (first, second, Math.Min(first.Points, second.Points))
            : null;

    private static string Versus(SubsetRun a, SubsetRun b, int n, ChecklistThresholds t) =>
        $"{a.Attack} {Percent(a.Accuracy)} vs {b.Attack} {Percent(b.Accuracy)} ({Clear(t, a.Accuracy, b.Accuracy, n)})";

    /// <summary>The smallest clear gap between two accuracies on n points, as the details state it.</summary>
    private static string Clear(ChecklistThresholds t, double a, double b, int n) => $"clear above {PercentPoints(t.ClearGap(a, b, n))}, n={n}";

    private static CheckResult Gradients(GradientStatistics? g, ChecklistThresholds t)
    {
        if (g is null)
            return NotRun(6, "checklist runs skipped (--no-checks)");
        var flagged = g.NonFiniteGradientPoints > 0 || g.ZeroFraction > t.ZeroGradientFraction || g.RandomizedOutput;
        return Result(6, flagged,
            $"{g.ZeroGradientPoints} of {g.Points} points with all-zero input gradient (flag above {Percent(t.ZeroGradientFraction)}), " +
            $"{g.NonFiniteGradientPoints} with NaN/inf, mean |grad| {g.MeanAbsGradient.ToString("G3", Culture)}" +
            (g.RandomizedOutput ? "; f_P's output is randomised (two forwards differ): use autoattack-rand (EOT)" : ""));
    }

    private static CheckResult Result(int number, bool flagged, string detail) =>
        new(number, Titles[number - 1], flagged ? CheckStatus.Flagged : CheckStatus.Passed, detail);

    private static CheckResult NotRun(int number, string why) => new(number, Titles[number - 1], CheckStatus.NotRun, why);
}

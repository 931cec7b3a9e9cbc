using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;

namespace AdaptSharp.Tests.Evaluation;

public class MaskingChecklistTests
{
    private static readonly ChecklistThresholds Thresholds = new();

    private static AttackResult Column(string name, AttackSource source, double accuracy, int n = 1000) =>
        new(AttackSpec.Parse(name), source, "", n, (int)Math.Round(accuracy * n), accuracy, accuracy, 0.0, 0.0, 0, 0);

    private static CheckResult Check(int number, IReadOnlyList<AttackResult> attacks, IReadOnlyList<SubsetRun>? runs = null,
        GradientStatistics? gradients = null, bool hasPrompts = true, int n = 1000) =>
        MaskingChecklist.Evaluate(attacks, n, runs ?? [], gradients, hasPrompts, Thresholds).Single(c => c.Number == number);

    private static SubsetRun Run(string purpose, string attack, double accuracy, int points = 200, double eps = 0.1) =>
        new(purpose, AttackSpec.Parse(attack), AttackSource.Adaptive, ThreatModel.LInf(eps), points, (int)Math.Round(accuracy * points), eps, 1.0);

    [Fact]
    public void ClearGapIsTwoStandardErrorsWithAOnePointFloor()
    {
        // p = 0.4, n = 1000: SE = sqrt(0.24/1000) = 0.01549, so 2 SE = 0.03098.
        Assert.Equal(2 * Math.Sqrt(0.24 / 1000), Thresholds.ClearGap(0.4, 0.38, 1000), 12);
        Assert.True(Thresholds.IsClearlyBelow(0.36, 0.40, 1000));
        Assert.False(Thresholds.IsClearlyBelow(0.38, 0.40, 1000));
        // At p = 1 the SE is 0 and the 1-point floor applies.
        Assert.Equal(0.01, Thresholds.ClearGap(1.0, 1.0, 1000), 12);
    }

    [Fact]
    public void AdaptiveBelowAgnosticIsFlagged()
    {
        var flagged = Check(1, [Column("pgd10", AttackSource.Adaptive, 0.05), Column("pgd10", AttackSource.Agnostic, 0.60)]);
        Assert.Equal(CheckStatus.Flagged, flagged.Status);
        Assert.Contains("5.0%", flagged.Detail);
        Assert.Contains("60.0%", flagged.Detail);
        Assert.Equal(CheckStatus.Passed,
            Check(1, [Column("pgd10", AttackSource.Adaptive, 0.40), Column("pgd10", AttackSource.Agnostic, 0.41)]).Status);
        Assert.Equal(CheckStatus.NotRun, Check(1, [Column("pgd10", AttackSource.Adaptive, 0.40)]).Status);
        Assert.Equal(CheckStatus.NotRun,
            Check(1, [Column("pgd10", AttackSource.Adaptive, 0.05), Column("pgd10", AttackSource.Agnostic, 0.6)], hasPrompts: false).Status);
    }

    [Fact]
    public void AdaptiveVersusAgnosticFallsBackToTheChecklistSubset()
    {
        var runs = new[]
        {
            Run(MaskingChecklist.PurposeConvergenceBase, "pgd10", 0.05),
            Run(MaskingChecklist.PurposeAgnosticPgd, "pgd10", 0.60) with { Source = AttackSource.Agnostic },
        };
        var check = Check(1, [Column("pgd10", AttackSource.Adaptive, 0.05)], runs);
        Assert.Equal(CheckStatus.Flagged, check.Status);
        Assert.Contains("subset", check.Detail);
        Assert.Contains("n=200", check.Detail);
        Assert.Equal(CheckStatus.Passed, Check(1, [], [runs[0], runs[1] with { Robust = 12 }]).Status);
    }

    [Fact]
    public void FgsmBelowPgdIsFlagged()
    {
        Assert.Equal(CheckStatus.Flagged,
            Check(2, [Column("fgsm", AttackSource.Adaptive, 0.20), Column("pgd10", AttackSource.Adaptive, 0.40)]).Status);
        Assert.Equal(CheckStatus.Passed,
            Check(2, [Column("fgsm", AttackSource.Adaptive, 0.50), Column("pgd10", AttackSource.Adaptive, 0.40)]).Status);
        Assert.Equal(CheckStatus.NotRun, Check(2, [Column("pgd10", AttackSource.Adaptive, 0.40)]).Status);
        Assert.Equal(CheckStatus.Flagged, Check(2, [],
            [Run(MaskingChecklist.PurposeFgsm, "fgsm", 0.10), Run(MaskingChecklist.PurposeConvergenceBase, "pgd10", 0.40)]).Status);
    }

    [Fact]
    public void BlackBoxBelowWhiteBoxIsFlagged()
    {
        Assert.Equal(CheckStatus.Flagged,
            Check(3, [Column("pgd10", AttackSource.Adaptive, 0.40), Column("square", AttackSource.Adaptive, 0.10)]).Status);
        Assert.Equal(CheckStatus.Passed,
            Check(3, [Column("pgd10", AttackSource.Adaptive, 0.40), Column("rays", AttackSource.Adaptive, 0.45)]).Status);
        Assert.Equal(CheckStatus.NotRun, Check(3, [Column("pgd10", AttackSource.Adaptive, 0.40)]).Status);
    }

    [Fact]
    public void ATransferClearlyBelowTheAdaptiveWhiteBoxAttacksIsFlagged()
    {
        static AttackResult Transfer(string surrogate, double accuracy) =>
            new(new PgdSpec(10), AttackSource.Transfer, "", 1000, (int)Math.Round(accuracy * 1000), accuracy, accuracy, 0.0, 0.0, 0, 0, surrogate);
        var flagged = Check(3, [Column("pgd10", AttackSource.Adaptive, 0.40), Transfer("a", 0.55), Transfer("ensemble", 0.20)]);
        Assert.Equal(CheckStatus.Flagged, flagged.Status);
        Assert.Contains("pgd10 (transfer:ensemble) 20.0%", flagged.Detail);
        Assert.Equal(CheckStatus.Passed, Check(3, [Column("pgd10", AttackSource.Adaptive, 0.40), Transfer("a", 0.60)]).Status);
    }

    [Fact]
    public void AccuracyAtLargeEpsMustBeNearZero()
    {
        Assert.Equal(CheckStatus.Flagged, Check(4, [], [Run(MaskingChecklist.PurposeLargeEps, "pgd20", 0.30, eps: 0.5)]).Status);
        Assert.Equal(CheckStatus.Passed, Check(4, [], [Run(MaskingChecklist.PurposeLargeEps, "pgd20", 0.0, eps: 0.5)]).Status);
        Assert.Equal(CheckStatus.NotRun, Check(4, []).Status);
    }

    [Fact]
    public void StrongerPgdClearlyLowerIsFlagged()
    {
        Assert.Equal(CheckStatus.Flagged, Check(5, [],
            [Run(MaskingChecklist.PurposeConvergenceBase, "pgd10", 0.50), Run(MaskingChecklist.PurposeConvergenceStrong, "pgd50x2", 0.20)]).Status);
        Assert.Equal(CheckStatus.Passed, Check(5, [],
            [Run(MaskingChecklist.PurposeConvergenceBase, "pgd10", 0.40), Run(MaskingChecklist.PurposeConvergenceStrong, "pgd50x2", 0.39)]).Status);
        Assert.Equal(CheckStatus.NotRun, Check(5, [], [Run(MaskingChecklist.PurposeConvergenceBase, "pgd10", 0.4)]).Status);
    }

    [Fact]
    public void ZeroOrNaNGradientsAreFlagged()
    {
        Assert.Equal(CheckStatus.Flagged, Check(6, [], gradients: new GradientStatistics(100, 0, 1, 0.1)).Status);
        Assert.Equal(CheckStatus.Flagged, Check(6, [], gradients: new GradientStatistics(100, 50, 0, 0.1)).Status);
        Assert.Equal(CheckStatus.Passed, Check(6, [], gradients: new GradientStatistics(100, 1, 0, 0.1)).Status);
        Assert.Equal(CheckStatus.NotRun, Check(6, []).Status);
    }

    [Fact]
    public void IncompleteColumnsAreNotUsed()
    {
        var partial = new AttackResult(new PgdSpec(10), AttackSource.Agnostic, "", 500, 300, 0.6, 0.6, 0, 0, 0, 0);
        Assert.Equal(CheckStatus.NotRun, Check(1, [Column("pgd10", AttackSource.Adaptive, 0.05), partial]).Status);
    }
}

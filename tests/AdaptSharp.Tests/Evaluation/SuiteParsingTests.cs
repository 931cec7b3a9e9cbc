using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;

namespace AdaptSharp.Tests.Evaluation;

public class SuiteParsingTests
{
    [Fact]
    public void AttackNamesParse()
    {
        Assert.Equal(["clean", "fgsm", "pgd10", "pgd50x2", "cw20", "apgd-ce", "autoattack", "rays"],
            AttackCatalog.ParseList(" clean,FGSM, pgd10,pgd50x2,cw20,apgd-ce,pgd10,AA,rays"));
        Assert.True(AttackCatalog.IsBlackBox("square"));
        Assert.True(AttackCatalog.IsBlackBox("rays1000"));
        Assert.True(AttackCatalog.IsWhiteBox("autoattack"));
        Assert.False(AttackCatalog.IsWhiteBox("clean"));
        Assert.Throws<ArgumentException>(() => AttackCatalog.ParseList("pgd0"));
        Assert.Throws<ArgumentException>(() => AttackCatalog.ParseList("deepfool"));
        Assert.Throws<ArgumentException>(() => AttackCatalog.ParseList(","));
        var pgd = Assert.IsType<Pgd>(AttackCatalog.Create("pgd50x2", ThreatModel.LInf(8 / 255.0), 1));
        Assert.Equal(50, pgd.Options.Steps);
        Assert.Equal(2, pgd.Options.Restarts);
        Assert.Null(AttackCatalog.Create("clean", ThreatModel.LInf(0.1), 1));
    }

    [Fact]
    public void ColumnsPutCleanFirstAndExpandSources()
    {
        var options = new EvaluationOptions
        {
            Threat = ThreatModel.LInf(0.1),
            Attacks = ["pgd10", "fgsm", "square"],
            Sources = AttackSources.Parse("both"),
        };
        Assert.Equal(["clean/adaptive", "pgd10/adaptive", "pgd10/agnostic", "fgsm/adaptive", "fgsm/agnostic", "square/adaptive"],
            options.Columns().Select(c => c.Key));
        Assert.Throws<ArgumentException>(() => AttackSources.Parse("sideways"));
    }

    [Fact]
    public void DerivedSeedsAreStableAndDistinct()
    {
        Assert.Equal(RobustnessEvaluator.DeriveSeed(1, "pgd10", 3), RobustnessEvaluator.DeriveSeed(1, "pgd10", 3));
        Assert.NotEqual(RobustnessEvaluator.DeriveSeed(1, "pgd10", 3), RobustnessEvaluator.DeriveSeed(1, "pgd10", 4));
        Assert.NotEqual(RobustnessEvaluator.DeriveSeed(1, "pgd10", 3), RobustnessEvaluator.DeriveSeed(2, "pgd10", 3));
        Assert.NotEqual(RobustnessEvaluator.DeriveSeed(1, "pgd10", 3), RobustnessEvaluator.DeriveSeed(1, "fgsm", 3));
    }

    [Fact]
    public void FlagsCumulateAndRemap()
    {
        var flags = new RobustFlags(3, 2, [1, 1, 1, 0, 0, -1]);
        Assert.Equal((2, 3), flags.Cumulative(0));
        Assert.Equal((1, 2), flags.Cumulative(1));
        Assert.Equal(2, flags.DoneCount(1));
        Assert.Equal(2, flags.DonePrefix(1));
        var remapped = flags.Remap([1, -1]);
        Assert.Equal(new sbyte[] { 1, -1, 0, -1, -1, -1 }, remapped.Values);
        Assert.Throws<ArgumentException>(() => new RobustFlags(2, 2, [1, 1, 1]));
    }
}

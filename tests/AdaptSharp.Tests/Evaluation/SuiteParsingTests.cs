using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;

namespace AdaptSharp.Tests.Evaluation;

public class SuiteParsingTests
{
    [Fact]
    public void AttackNamesParseOnceIntoTypedSpecs()
    {
        Assert.Equal(["clean", "fgsm", "pgd10", "pgd50x2", "cw20", "apgd-ce", "autoattack", "rays"],
            AttackSpec.ParseList(" clean,FGSM, pgd10,pgd50x2,cw20,apgd-ce,pgd10,AA,rays").Select(s => s.ToString()));
        Assert.True(AttackSpec.Parse("square").IsBlackBox);
        Assert.True(AttackSpec.Parse("rays1000").IsBlackBox);
        Assert.True(AttackSpec.Parse("autoattack").IsWhiteBox);
        Assert.False(AttackSpec.Parse("clean").IsWhiteBox);
        Assert.Equal(new PgdSpec(50, 2), AttackSpec.Parse("pgd50x2"));
        Assert.Equal(new CwSpec(20), AttackSpec.Parse("cw20"));
        Assert.Equal(LossSpec.CwMargin(10), new CwSpec(20).Loss);
        foreach (var bad in new[] { "pgd0", "deepfool", ",", "cw20x2", "pgd99999999999", "autoattack:deepfool" })
            Assert.Throws<ArgumentException>(() => AttackSpec.ParseList(bad));
        var threat = ThreatModel.LInf(8 / 255.0);
        var pgd = Assert.IsType<Pgd>(AttackSpec.Parse("pgd50x2").Create(threat, 1));
        Assert.Equal((50, 2, 1L, "pgd50x2"), (pgd.Options.Steps, pgd.Options.Restarts, pgd.Seed, pgd.Name));
        Assert.Equal(threat.Eps / 4, Assert.IsType<Pgd>(new CwSpec(20).Create(threat, 1)).Options.StepSize);
        Assert.Equal(10_000, Assert.IsType<Rays>(AttackSpec.Parse("rays").Create(threat, 1)).Options.QueryBudget);
        Assert.Throws<InvalidOperationException>(() => new CleanSpec().Create(threat, 1));
        Assert.Equal("version standard: apgd-ce -> apgd-t -> fab-t -> square, each on the points still robust",
            new AutoAttackSpec().Describe(threat));
        Assert.Equal("10 steps of 0.007843, 1 restart(s), CE loss, uniform start", new PgdSpec(10).Describe(threat));
    }

    [Fact]
    public void EveryPresetAndStageRoundTripsThroughItsName()
    {
        var specs = AttackSpec.Presets.Select(AttackSpec.Parse).ToList();
        specs.AddRange(new[] { AutoAttackVersion.Standard, AutoAttackVersion.Plus, AutoAttackVersion.Rand }
            .SelectMany(v => new AutoAttackSpec(v).Stages));
        specs.AddRange([new PgdSpec(7, 3), new PgdSpec(1), new PgdSpec(10, 1, 2.0 / 255, false), new PgdSpec(5, 2, 0.1), new CwSpec(5), new SquareSpec(17), new RaysSpec(3), new FgsmSpec(true)]);
        foreach (var spec in specs)
        {
            Assert.Equal(spec, AttackSpec.Parse(spec.ToString()));
            // In report.json a spec is its name: a saved run reads back as the spec it was run with.
            var record = new SubsetRun("check", spec, AttackSource.Adaptive, ThreatModel.LInf(0.1), 10, 3, 0.1, 1.0);
            var json = System.Text.Json.JsonSerializer.Serialize(record, ReportJson.Options);
            Assert.Contains($"\"attack\": \"{spec}\"", json);
            Assert.Equal(record, System.Text.Json.JsonSerializer.Deserialize<SubsetRun>(json, ReportJson.Options));
            Assert.Equal(spec.ToString(), AttackSpec.Parse(spec.ToString().ToUpperInvariant()).ToString());
            Assert.False(spec.IsWhiteBox && spec.IsBlackBox);
            Assert.False(string.IsNullOrWhiteSpace(spec.Describe(ThreatModel.LInf(0.1))));
        }
        Assert.Equal(AttackSpec.Presets, AttackSpec.Presets.Select(p => AttackSpec.Parse(p).ToString()));
        // Stage specs build the same attacks AutoAttack itself runs.
        var threat = ThreatModel.L2(0.5);
        foreach (var version in new[] { AutoAttackVersion.Standard, AutoAttackVersion.Plus, AutoAttackVersion.Rand })
            Assert.Equal(AutoAttack.StandardStages(version, threat, 3).Select(a => (a.GetType(), a.Name, a.Seed)),
                new AutoAttackSpec(version).Stages.Select(s => s.Create(threat, 3)).Select(a => (a.GetType(), a.Name, a.Seed)));
    }

    [Fact]
    public void AReportWithAnUnknownAttackNameIsRefusedInOneLine()
    {
        var report = new RobustnessReport { Model = "m", ModelFingerprint = "f", Threat = ThreatModel.LInf(0.1), Attacks = [new AttackResult(new PgdSpec(10), AttackSource.Adaptive, "", 1, 1, 1, 1, 0, 0, 0, 0)] };
        var json = ReportJson.Serialize(report).Replace("\"pgd10\"", "\"deepfool\"", StringComparison.Ordinal);
        var e = Assert.Throws<InvalidDataException>(() => ReportJson.Deserialize(json, "x/report.json"));
        Assert.StartsWith("x/report.json: not a valid report (unknown attack 'deepfool'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ColumnsPutCleanFirstAndExpandSources()
    {
        var options = new EvaluationOptions
        {
            Threat = ThreatModel.LInf(0.1),
            Attacks = AttackSpec.ParseList("pgd10,fgsm,square"),
            Sources = AttackSources.Parse("both"),
        };
        Assert.Equal(["clean/adaptive", "pgd10/adaptive", "pgd10/agnostic", "fgsm/adaptive", "fgsm/agnostic", "square/adaptive"],
            EvalPlanner.Columns(options).Select(c => EvalPlanner.ColumnKey(c.Spec, c.Source)));
        Assert.Throws<ArgumentException>(() => AttackSources.Parse("sideways"));
        // AutoAttack is a plan of its stages, each over the points the previous one left robust.
        var plan = EvalPlanner.Build(options with { Attacks = AttackSpec.ParseList("autoattack"), Sources = [AttackSource.Adaptive], RunChecks = false }, 10, true, 64);
        Assert.Equal(["clean/adaptive", "autoattack/adaptive:apgd-ce", "autoattack/adaptive:apgd-t", "autoattack/adaptive:fab-t",
            "autoattack/adaptive:square", "autoattack/adaptive"], plan.Runs.Select(r => r.Key));
        Assert.Equal([null, null, "autoattack/adaptive:apgd-ce", "autoattack/adaptive:apgd-t", "autoattack/adaptive:fab-t", "autoattack/adaptive:square"],
            plan.Runs.Select(r => r.Over));
        Assert.All(plan.Runs.Skip(1), r => Assert.Equal("autoattack", r.SeedKey));
        Assert.Equal(["clean/adaptive", "autoattack/adaptive"], plan.Layout.Take(2).Select(r => r.Key));
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
    public void FlagsRefuseAWrongSize() => Assert.Throws<ArgumentException>(() => new RobustFlags(2, 2, [1, 1, 1]));
}

using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Evaluation;

public class RobustnessEvaluatorTests
{
    [Fact]
    public void ReportInvariantsHold()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 20);
        var options = EvaluationFixtures.Options() with { EpsSweep = [0.0, 0.05] };
        var result = new RobustnessEvaluator(model, options).Run(images, labels);
        var report = result.Report;

        Assert.True(report.Complete);
        Assert.Equal(20, report.N);
        Assert.Equal(5, report.Attacks.Count); // clean + (fgsm, pgd5) x (adaptive, agnostic)
        Assert.Equal((20, 5), (result.Flags.Points, report.Attacks.Count)); // the suite columns come first in flags.npy
        Assert.DoesNotContain(Enumerable.Range(0, 5).SelectMany(c => Enumerable.Range(0, 20).Select(p => result.Flags[p, c])), v => v == RobustFlags.NotDone);
        Assert.Equal(1.0, report.CleanAccuracy);

        for (var c = 0; c < report.Attacks.Count; c++)
        {
            var a = report.Attacks[c];
            Assert.Equal(20, a.PointsDone);
            Assert.Equal(Enumerable.Range(0, 20).Count(p => result.Flags[p, c] == 1) / 20.0, a.RobustAccuracy, 12);
            Assert.True(a.RobustAccuracy <= report.CleanAccuracy);
            Assert.True(report.RobustAccuracy <= a.RobustAccuracy);
            Assert.True(a.MaxPerturbation <= options.Threat.Eps + ThreatModel.Tolerance);
            if (c > 0)
            {
                Assert.True(a.CumulativeRobustAccuracy <= report.Attacks[c - 1].CumulativeRobustAccuracy);
                Assert.True(a.GradientEvaluations > 0);
                Assert.True(a.MaxPerturbation > 0);
            }
        }
        Assert.Equal(report.Attacks[^1].CumulativeRobustAccuracy, report.RobustAccuracy, 12);
        // Pointwise: a point robust in total is robust to every column.
        for (var p = 0; p < 20; p++)
        {
            var all = Enumerable.Range(0, 5).All(c => result.Flags[p, c] == 1);
            Assert.True(!all || Enumerable.Range(0, 5).All(c => result.Flags[p, c] == 1));
        }

        Assert.Equal(6, report.Checklist.Count);
        Assert.Equal([1, 2, 3, 4, 5, 6], report.Checklist.Select(c => c.Number));
        Assert.NotEqual(CheckStatus.NotRun, report.Checklist[0].Status);
        Assert.Equal(CheckStatus.NotRun, report.Checklist[2].Status); // no black-box attack in this suite
        Assert.All(report.Checklist.Where(c => c.Number is 4 or 5 or 6), c => Assert.NotEqual(CheckStatus.NotRun, c.Status));
        Assert.Equal(5, report.CheckRuns.Count); // pgd5 adaptive + agnostic, fgsm, pgd25x2, pgd20 at eps 0.5
        Assert.All(report.CheckRuns, r => Assert.Equal(16, r.Points));
        Assert.Equal(0.5, report.CheckRuns.Single(r => r.Purpose == MaskingChecklist.PurposeLargeEps).Threat.Eps);
        Assert.Equal(16, report.Gradients!.Points);
        Assert.Equal(0, report.Gradients.NonFiniteGradientPoints);

        Assert.Equal(4, report.EpsSweep.Count); // 2 eps x 2 sources
        Assert.All(report.EpsSweep.Where(p => p.Eps == 0.0), p => Assert.Equal(1.0, p.Accuracy));

        var json = ReportJson.Serialize(report);
        var back = ReportJson.Deserialize(json);
        Assert.Equal(json, ReportJson.Serialize(back));
        Assert.Equal(report.Threat, back.Threat);
        Assert.Equal(report.Attacks, back.Attacks);
        Assert.Contains("\"robust_accuracy\"", json);
        Assert.Contains("\"agnostic\"", json);
    }

    [Fact]
    public void AdaptiveAndAgnosticDifferWhenPromptsChangePredictions()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 24);
        using (no_grad())
        {
            var f0 = model.Forward(images, usePrompts: false).argmax(1);
            Assert.True(f0.ne(labels).any().item<bool>(), "fixture: prompts must change some predictions");
        }
        var options = EvaluationFixtures.Options("clean", "pgd10") with { RunChecks = false };
        var result = new RobustnessEvaluator(model, options).Run(images, labels);
        var adaptive = result.Report.Find("pgd10", AttackSource.Adaptive)!;
        var agnostic = result.Report.Find("pgd10", AttackSource.Agnostic)!;
        Assert.True(adaptive.RobustAccuracy < agnostic.RobustAccuracy,
            $"adaptive {adaptive.RobustAccuracy} should be below agnostic {agnostic.RobustAccuracy}");
        // Same seeds for both sources: the difference comes from the gradient source alone.
        var differing = Enumerable.Range(0, 24).Count(p => result.Flags[p, 1] != result.Flags[p, 2]);
        Assert.True(differing > 0);
        var gap = Assert.Single(result.Report.SourceGaps);
        Assert.Equal(agnostic.RobustAccuracy - adaptive.RobustAccuracy, gap.Gap, 12);

        // Wiring: the agnostic column is the attack generated on f_0 and scored on f_P, the adaptive one is
        // generated on f_P; both with the per-batch seed.
        for (var batch = 0; batch < 3; batch++)
        {
            var x = images.narrow(0, batch * 8, 8);
            var y = labels.narrow(0, batch * 8, 8);
            foreach (var (view, column) in new[] { (model.Prompted, 1), (model.Unprompted, 2) })
            {
                var attack = AttackSpec.Parse("pgd10").Create(options.Threat, RobustnessEvaluator.DeriveSeed(options.Seed, "pgd10", batch));
                using var adv = attack.Perturb(view, x, y);
                using var noGrad = no_grad();
                var robust = model.Forward(adv, usePrompts: true).argmax(1).eq(y).data<bool>().ToArray();
                for (var i = 0; i < 8; i++)
                    Assert.Equal(robust[i] ? 1 : 0, result.Flags[batch * 8 + i, column]);
            }
        }
    }

    [Fact]
    public void ResumeSkipsCompletedWorkAndGivesIdenticalFlags()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 24);
        var options = EvaluationFixtures.Options("clean", "fgsm", "pgd5") with { RunChecks = false };
        var evaluator = new RobustnessEvaluator(model, options);

        var fullBatches = 0;
        var full = evaluator.Run(images, labels, checkpoint: _ => fullBatches++);

        // Interrupt after 7 checkpoints (each batch is one), persist like the CLI does, then resume.
        var dir = EvaluationFixtures.TempDirectory();
        try
        {
            using var cts = new CancellationTokenSource();
            var saved = 0;
            Assert.ThrowsAny<OperationCanceledException>(() => evaluator.Run(images, labels, checkpoint: state =>
            {
                ReportWriter.WriteState(dir, state);
                if (++saved == 7) cts.Cancel();
            }, cancellationToken: cts.Token));

            var partial = ReportWriter.TryLoad(dir)!;
            Assert.False(partial.Report.Complete);
            Assert.Contains(partial.Flags.Values, v => v == RobustFlags.NotDone);

            var resumedBatches = 0;
            var resumed = evaluator.Run(images, labels, resume: partial, checkpoint: _ => resumedBatches++);
            Assert.Equal(full.Flags.Values, resumed.Flags.Values);
            Assert.Equal(full.Report.Attacks.Select(a => a.RobustAccuracy), resumed.Report.Attacks.Select(a => a.RobustAccuracy));
            Assert.Equal(full.Report.Attacks.Select(a => a.GradientEvaluations), resumed.Report.Attacks.Select(a => a.GradientEvaluations));
            Assert.Equal(fullBatches - 7, resumedBatches);

            // Resuming a complete run does no attack work.
            var again = 0;
            evaluator.Run(images, labels, resume: resumed, checkpoint: _ => again++);
            Assert.Equal(1, again); // only the final report

            // A different seed cannot resume this state.
            var other = new RobustnessEvaluator(model, options with { Seed = 99 });
            Assert.Throws<ArgumentException>(() => other.Run(images, labels, resume: partial));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ResumeRefusesASavedRunThatDidOtherWork()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 16);
        var options = EvaluationFixtures.Options("clean", "fgsm", "pgd5") with { CheckPoints = 8 };
        var saved = new RobustnessEvaluator(model, options).Run(images, labels);
        string Refusal(EvaluationOptions other) =>
            Assert.Throws<ArgumentException>(() => new RobustnessEvaluator(model, other).Run(images, labels, resume: saved)).Message;

        // Same key, other work: the checklist's base PGD (pgd5 saved, pgd10 asked) and its large-eps run (another eps).
        Assert.Contains("'check:convergence-base' (saved: pgd5", Refusal(options with { Attacks = AttackSpec.ParseList("clean,fgsm,pgd10,pgd5") }));
        Assert.Contains("'check:large-eps' (saved: pgd20/adaptive at Linf eps=0.5", Refusal(options with { LargeEps = 0.4 }));
        // A shorter suite would drop finished runs: refused, not silently rewritten.
        Assert.Contains("the saved run has 'fgsm/adaptive'", Refusal(options with { Attacks = AttackSpec.ParseList("clean,pgd5") }));
        // Another threat model or batch size.
        Assert.Contains("threat model", Refusal(options with { Threat = ThreatModel.LInf(0.05) }));
        Assert.Contains("batch size", Refusal(options with { BatchSize = 4 }));
        // The same plan resumes (and does nothing).
        var batches = 0;
        var again = new RobustnessEvaluator(model, options).Run(images, labels, resume: saved, checkpoint: _ => batches++);
        Assert.Equal(1, batches);
        Assert.Equal(saved.Flags.Values, again.Flags.Values);
    }

    [Fact]
    public void AutoAttackColumnIsItsStagesCascadeWithOneSeed()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 8);
        var options = EvaluationFixtures.Options("clean", "autoattack") with { RunChecks = false, Sources = [AttackSource.Adaptive], Threat = ThreatModel.LInf(0.05) };
        var result = new RobustnessEvaluator(model, options).Run(images, labels);
        var runs = result.Report.Runs.Select(r => r.Key).ToList();
        int Column(string key) => runs.IndexOf(key);
        var stages = new AutoAttackSpec().Stages.Select(s => Column($"autoattack/adaptive:{s.StageName}")).ToList();
        // Each stage attacks only what the previous one left robust, so flags only fall; the column is the last stage.
        for (var p = 0; p < 8; p++)
        {
            var before = result.Flags[p, 0];
            foreach (var c in stages)
            {
                Assert.True(result.Flags[p, c] <= before);
                before = result.Flags[p, c];
            }
            Assert.Equal(before, result.Flags[p, Column("autoattack/adaptive")]);
        }
        // The first stage is APGD-CE with the batch seed of the autoattack column, on the clean-correct points.
        var seed = RobustnessEvaluator.DeriveSeed(options.Seed, "autoattack", 0);
        using var adv = new AutoAttackSpec().Stages[0].Create(options.Threat, seed).Perturb(model.Prompted, images, labels);
        using var noGrad = no_grad();
        var robust = model.Forward(adv, usePrompts: true).argmax(1).eq(labels).data<bool>().ToArray();
        Assert.Equal(robust.Select(r => r ? (sbyte)1 : (sbyte)0), Enumerable.Range(0, 8).Select(p => result.Flags[p, stages[0]]));
    }

    /// <summary>One engine: the AutoAttack class on one view gives the evaluator's autoattack flags for the same seed and batch size.</summary>
    [Fact]
    public void AutoAttackClassRunsTheSameEngineAsTheEvaluator()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 6, seed: 13);
        labels[0] = (labels[0] + 1) % 4;   // a clean error: never attacked
        var options = EvaluationFixtures.Options("clean", "autoattack") with
        {
            RunChecks = false,
            Sources = [AttackSource.Adaptive],
            Threat = ThreatModel.LInf(0.04),
            BatchSize = 4,
        };
        var evaluated = new RobustnessEvaluator(model, options).Run(images, labels);
        var aa = new AutoAttack(options.Threat, new AutoAttackOptions(BatchSize: options.BatchSize), options.Seed);
        var (result, adv) = aa.Run(model.Prompted, model.Prompted, images, labels);

        var keys = evaluated.Report.Runs.Select(r => r.Key).ToList();
        bool[] Column(string key) => Enumerable.Range(0, 6).Select(p => evaluated.Flags[p, keys.IndexOf(key)] == 1).ToArray();
        Assert.Equal(Column("clean/adaptive"), result.CleanCorrect);
        Assert.Equal(Column("autoattack/adaptive"), result.Robust);
        foreach (var stage in result.Stages)
            Assert.Equal(Column($"autoattack/adaptive:{stage.Name}"), stage.RobustAfter);
        Assert.Contains(result.Stages, s => s.FooledCount > 0);
        Assert.Contains(true, result.Robust);
        // the adversarial images break exactly the clean-correct points that are not robust
        using var noGrad = no_grad();
        var stillRight = model.Forward(adv, usePrompts: true).argmax(1).eq(labels).data<bool>().ToArray();
        Assert.Equal(result.Robust, stillRight.Zip(result.CleanCorrect, (s, c) => s && c));
        Assert.True(options.Threat.Validate(adv, images) <= options.Threat.Eps + ThreatModel.Tolerance);
    }

    [Fact]
    public void ResumeKeepsColumnsSharedWithALargerSuite()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 16);
        var small = EvaluationFixtures.Options("clean", "fgsm") with { RunChecks = false };
        var first = new RobustnessEvaluator(model, small).Run(images, labels);
        var large = small with { Attacks = AttackSpec.ParseList("clean,fgsm,pgd5") };
        var batches = 0;
        var second = new RobustnessEvaluator(model, large).Run(images, labels, resume: first, checkpoint: _ => batches++);
        Assert.Equal(2 * 2 + 1, batches); // pgd5 adaptive + agnostic, 2 batches each, plus the final report
        Assert.Equal(first.Report.Find("fgsm", AttackSource.Adaptive)!.RobustAccuracy,
            second.Report.Find("fgsm", AttackSource.Adaptive)!.RobustAccuracy);
    }

    [Fact]
    public void BlackBoxAndAutoAttackColumnsRunOnFp()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 8);
        var options = EvaluationFixtures.Options("clean", "pgd5", "square100", "rays200", "autoattack") with { RunChecks = false, Sources = [AttackSource.Agnostic] };
        var result = new RobustnessEvaluator(model, options).Run(images, labels);
        // Black-box attacks have no prompt-agnostic variant: they always query f_P.
        Assert.Equal(["clean/adaptive", "pgd5/agnostic", "square100/adaptive", "rays200/adaptive", "autoattack/agnostic"],
            result.Report.Attacks.Select(a => $"{a.Name}/{a.SourceName}"));
        Assert.True(result.Report.Find("square100", AttackSource.Adaptive)!.Queries > 0);
        Assert.True(result.Report.Find("autoattack", AttackSource.Agnostic)!.GradientEvaluations > 0);
        Assert.Contains("apgd-ce -> apgd-t -> fab-t -> square", result.Report.Find("autoattack", AttackSource.Agnostic)!.Settings);
        // Check 3 compares black-box with adaptive white-box attacks only.
        Assert.Equal(CheckStatus.NotRun, result.Report.Checklist.Single(c => c.Number == 3).Status);
        var both = new RobustnessEvaluator(model, options with { Attacks = AttackSpec.ParseList("clean,pgd5,square100"), Sources = AttackSources.Parse("both") })
            .Run(images, labels);
        Assert.NotEqual(CheckStatus.NotRun, both.Report.Checklist.Single(c => c.Number == 3).Status);
        Assert.All(result.Report.Attacks, a => Assert.True(a.MaxPerturbation <= 0.1 + ThreatModel.Tolerance));
    }

    [Fact]
    public void ModelIsRestoredAfterEvaluation()
    {
        using var model = EvaluationFixtures.PromptedModel();
        model.train();
        var (images, labels) = EvaluationFixtures.Data(model, 8);
        new RobustnessEvaluator(model, EvaluationFixtures.Options("clean", "fgsm") with { RunChecks = false }).Run(images, labels);
        Assert.True(model.training);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }
}

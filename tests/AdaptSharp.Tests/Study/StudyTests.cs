using System.Text.Json;
using AdaptSharp.Cli.Commands;
using AdaptSharp.Cluster;
using AdaptSharp.Study;
using AdaptSharp.Tests.Data;
using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using AdaptSharp.Training;

namespace AdaptSharp.Tests.Study;

public class StudyTests
{
    [Fact]
    public void PlansCarryTypedSuitesWithTheReportKeysOfTheirCliSpelling()
    {
        // The study and the demo hand typed specs to the evaluator; their report keys (and so resume of an existing
        // output folder) are those of the CLI spellings they replaced.
        Assert.Equal(AttackSpec.ParseList("clean,fgsm,pgd10,cw20"), StudyPlan.Cpu.Suite);
        Assert.Equal(AttackSpec.ParseList("clean,pgd10"), AdaptSharp.Demo.DemoPlan.Quick().Suite);
        Assert.Equal(["pgd10", "cw20", "fgsm"], new[] { StudyRunner.PgdAttack, StudyRunner.CwAttack, StudyRunner.FgsmAttack }.Select(a => a.ToString()));
        Assert.Equal(AttackSpec.Parse("rays300"), new RaysSpec(300));
        Assert.Equal(AttackSpec.Parse("autoattack"), new AutoAttackSpec(AutoAttackVersion.Standard));
    }

    [Fact]
    public void CpuPlanHasEveryRowTheIssueNames()
    {
        var runs = StudyPlan.Cpu.Runs;
        Assert.Equal(runs.Count, runs.Select(r => r.Id).Distinct().Count());
        var main = runs.Where(r => r.Group == StudyGroups.Main).ToList();
        var prompt = main.Where(r => r.Trainable == "head,patch").Select(r => r.Method).ToHashSet();
        Assert.Equal(new[] { ObjectiveKind.Natural, ObjectiveKind.At, ObjectiveKind.Trades, ObjectiveKind.Mart, ObjectiveKind.Nfgsm, ObjectiveKind.AdaptCe, ObjectiveKind.AdaptKl }.ToHashSet(), prompt);
        Assert.Contains(main, r => r.FullFineTuning && r.Method == ObjectiveKind.At && r.AutoAttack);
        Assert.Contains(main, r => r.FullFineTuning && r.Method == ObjectiveKind.Trades);
        Assert.Contains(main, r => r.LinearProbing && r.Method == ObjectiveKind.At);
        foreach (var m in new[] { ObjectiveKind.Natural, ObjectiveKind.At, ObjectiveKind.Trades, ObjectiveKind.AdaptCe, ObjectiveKind.AdaptKl })
            Assert.Contains(main, r => r.Method == m && r.AutoAttack && !r.FullFineTuning);
        Assert.Equal(new[] { ObjectiveKind.At, ObjectiveKind.AdaptCe }, main.Where(r => r.Rays).Select(r => r.Method));

        // Ablations on adapt-ce: the main run is one point of each sweep, the others differ in exactly that setting.
        var reference = main.Single(r => r.Id == "pt-adapt-ce");
        var lengths = runs.Where(r => r.Group == StudyGroups.PromptLength).Select(r => r.Prompts).Append(reference.Prompts).Order().ToList();
        Assert.Equal(new[] { "deep:10", "deep:25", "deep:4", "deep:5", "deep:50" }, lengths);
        var lambdas = runs.Where(r => r.Group == StudyGroups.Lambda).Select(r => r.Lambda).Append(reference.Lambda).Order();
        Assert.Equal(new[] { 1.0, 3, 6, 12 }, lambdas);
        Assert.Equal("shallow:4", runs.Single(r => r.Group == StudyGroups.PromptMode).Prompts);
        Assert.Equal("head", runs.Single(r => r.Group == StudyGroups.Patch).Trainable);
        Assert.All(runs.Where(r => r.Group is not StudyGroups.Main and not StudyGroups.Seeds), r => Assert.Equal(ObjectiveKind.AdaptCe, r.Method));

        // Key rows with 3 seeds.
        foreach (var m in new[] { ObjectiveKind.Natural, ObjectiveKind.At, ObjectiveKind.AdaptCe })
            Assert.Equal(new long[] { 0, 1, 2 }, runs.Where(r => r.Method == m && r.Trainable == "head,patch" && r.Prompts == reference.Prompts && r.Lambda == 6 && r.Group is StudyGroups.Main or StudyGroups.Seeds).Select(r => r.Seed).Order());
    }

    [Fact]
    public void WorkUnitsTrainFirstAndSplitAutoAttackIntoBatchShards()
    {
        var outDir = Directory.CreateTempSubdirectory("adapt-units-").FullName;
        try
        {
            // The demo's miniature: 4 AutoAttack points in batches of 2, so at most two shards.
            var plan = AdaptSharp.Demo.DemoPlan.Mini();
            var runner = new StudyRunner(plan, "backbone.safetensors", AdaptSharp.Data.DatasetSpec.Parse("fashion-mnist"), outDir);
            foreach (var (asked, shards) in new[] { (1, 1), (2, 2), (8, 2) })
            {
                var units = runner.WorkUnits(asked).ToList();
                Assert.Equal(plan.Runs.Count * (2 + shards), units.Count);
                Assert.Equal(units.Count, units.Select(u => u.Id).Distinct().Count());
                foreach (var run in plan.Runs)
                {
                    var mine = units.Where(u => u.Run == run).ToList();
                    var train = Assert.Single(mine, u => u.Stage == StudyStage.Train);
                    Assert.Empty(train.DependsOn);
                    // every evaluation waits for this run's training, which comes before it in the list
                    Assert.All(mine.Where(u => u != train), u => Assert.Equal([train.Id], u.DependsOn));
                    Assert.True(units.IndexOf(train) < mine.Where(u => u != train).Min(units.IndexOf));
                    // every training before every evaluation: the trainings unlock the rest, so workers start them first
                    Assert.True(units.IndexOf(train) < units.Count(u => u.Stage == StudyStage.Train));
                    var autoAttack = mine.Where(u => u.Stage == StudyStage.AutoAttack).ToList();
                    Assert.Equal(shards, autoAttack.Count);
                    if (shards == 1)
                        Assert.Null(autoAttack[0].Shard);
                    else
                        Assert.Equal(Enumerable.Range(1, shards), autoAttack.Select(u => u.Shard!.Index));
                    Assert.All(autoAttack.Where(u => u.Shard is not null), u => Assert.Equal(shards, u.Shard!.Count));
                }
            }

            // Shards an earlier run started (here 3, as a worker with another --jobs would) are finished as they are.
            Directory.CreateDirectory(Path.Combine(runner.EvalDirectory(plan.Runs[2], "autoattack"), "shard-2-of-3"));
            var resumed = runner.WorkUnits(2).Where(u => u.Run == plan.Runs[2] && u.Stage == StudyStage.AutoAttack).ToList();
            Assert.Equal([(1, 3), (2, 3), (3, 3)], resumed.Select(u => (u.Shard!.Index, u.Shard.Count)));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    [Fact]
    public void ShardsPartitionTheRuns()
    {
        var runs = StudyPlan.Cpu.Runs;
        var shards = Enumerable.Range(1, 3).Select(k => StudyCommand.Select(StudyPlan.Cpu, null, new ShardSpec(k, 3))).ToList();
        Assert.Equal(runs.Count, shards.Sum(s => s.Count));
        Assert.Equal(runs.Select(r => r.Id).Order(), shards.SelectMany(s => s).Select(r => r.Id).Order());
        Assert.Equal(new[] { "pt-at", "full-at", "linear-at" }, StudyCommand.Select(StudyPlan.Cpu, "pt-at,full-at,linear-at", null).Select(r => r.Id));
        Assert.Equal(2, StudyCommand.Select(StudyPlan.Cpu, "seeds", null).Count(r => r.Method == ObjectiveKind.AdaptCe));
        Assert.Throws<ArgumentException>(() => StudyCommand.Select(StudyPlan.Cpu, "no-such-run", null));
    }

    [FashionMnistFact]
    public void MiniStudyRunsResumesAndReports()
    {
        var outDir = Directory.CreateTempSubdirectory("adapt-study-").FullName;
        try
        {
            string[] Args(string runs) => ["study", "--plan", "mini", "--out", outDir, "--device", "cpu", "--runs", runs];
            Assert.Equal(0, AdaptSharp.Cli.Program.Main(Args("pt-natural,pt-at,full-at,linear-at,abl-shallow2")));
            var resultsPath = Path.Combine(outDir, StudyReport.JsonFile);
            using (var json = JsonDocument.Parse(File.ReadAllText(resultsPath)))
            {
                var runs = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
                Assert.Equal(5, runs.Count);
                foreach (var r in runs)
                {
                    var clean = r.GetProperty("clean").GetDouble();
                    foreach (var a in r.GetProperty("attacks").EnumerateArray())
                        Assert.True(a.GetProperty("robust_accuracy").GetDouble() <= clean + 1e-9, "robust accuracy never exceeds clean");
                    Assert.True(r.GetProperty("trainable").GetInt64() <= r.GetProperty("total").GetInt64());
                }
                var byId = runs.ToDictionary(r => r.GetProperty("run").GetProperty("id").GetString()!);
                Assert.Equal(byId["full-at"].GetProperty("total").GetInt64(), byId["full-at"].GetProperty("trainable").GetInt64());
                Assert.True(byId["linear-at"].GetProperty("trainable").GetInt64() < byId["pt-at"].GetProperty("trainable").GetInt64());
                // Full fine-tuning has no prompts: f_0 = f_P, so the prompt-agnostic and adaptive attacks are the same attack.
                double Pgd(JsonElement run, string source) => run.GetProperty("attacks").EnumerateArray()
                    .Single(a => a.GetProperty("name").GetString() == "pgd10" && a.GetProperty("source").GetString() == source).GetProperty("robust_accuracy").GetDouble();
                Assert.Equal(Pgd(byId["full-at"], "adaptive"), Pgd(byId["full-at"], "agnostic"));
                Assert.Contains("pt-adapt-ce", json.RootElement.GetProperty("missing").EnumerateArray().Select(m => m.GetString()));
            }
            var markdown = File.ReadAllText(Path.Combine(outDir, StudyReport.MarkdownFile));
            Assert.Contains("## Methods x attacks", markdown);
            Assert.Contains("adapt tune --backbone", markdown);

            // A second call with the same runs trains nothing: artifacts keep their timestamps.
            var artifact = Path.Combine(outDir, "artifacts", "pt-at.safetensors");
            var written = File.GetLastWriteTimeUtc(artifact);
            Assert.Equal(0, AdaptSharp.Cli.Program.Main(Args("pt-at")));
            Assert.Equal(written, File.GetLastWriteTimeUtc(artifact));
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }
}

public class StudyReportTests
{
    private static StudyRunResult Result(StudyRun run, double clean, double adaptive, double agnostic, double? rays = null, double? raysPgd = null)
    {
        RobustnessReport Report(int n, params AttackResult[] attacks) => new()
        {
            Model = "test",
            ModelFingerprint = "0",
            Threat = ThreatModel.LInf(0.1),
            N = n,
            CleanAccuracy = clean,
            Attacks = attacks,
            Checklist = [new CheckResult(1, "adaptive not below agnostic", adaptive < agnostic - 0.02 ? CheckStatus.Flagged : CheckStatus.Passed, "")],
        };
        AttackResult Attack(string name, AttackSource source, double accuracy) => new(AttackSpec.Parse(name), source, "", 1000, (int)(accuracy * 1000), accuracy, accuracy, 0.1, 1, 0, 0);
        var main = Report(1000, Attack("clean", AttackSource.Adaptive, clean), Attack("pgd10", AttackSource.Adaptive, adaptive), Attack("pgd10", AttackSource.Agnostic, agnostic));
        var raysReport = rays is double r ? Report(200, Attack("rays10000", AttackSource.Adaptive, r)) with { RobustAccuracy = r } : null;
        return new StudyRunResult(run, "a.safetensors", 100, new ParameterCount(1000, 19, 8), 60, main, null, raysReport, raysPgd);
    }

    [Fact]
    public void SeedTableReportsMeanAndSampleStandardDeviation()
    {
        var runs = StudyPlan.Cpu.Runs;
        var results = new[] { 0.50, 0.52, 0.54 }.Select((acc, i) => Result(
            runs.Single(r => r.Method == ObjectiveKind.AdaptCe && r.Seed == i && r.Group is StudyGroups.Main or StudyGroups.Seeds), 0.75, acc, 0.6)).ToList();
        var table = StudyReport.SeedTable(results);
        // mean 52.0, sample std sqrt(((-2)^2 + 0 + 2^2) / 2) = 2.0
        Assert.Contains("| adapt-ce | 0,1,2 | 75.0 +- 0.0 | 60.0 +- 0.0 | 52.0 +- 2.0 |", table);
    }

    /// <summary>The demo is a template of the study's report: the same run gives the same numbers in both tables.</summary>
    [Fact]
    public void DemoAndStudyTemplatesShowTheSameNumbers()
    {
        var run = StudyPlan.Cpu.PromptRun(ObjectiveKind.AdaptCe, 0) with { Id = "adapt-ce" };
        var result = Result(run, 0.75, 0.5, 0.55);
        var study = StudyReport.MainTable([result]);
        var demo = AdaptSharp.Demo.DemoReport.Table(new StudyResult(StudyPlan.Cpu, "backbone", [result], [], "machine"));
        // 19 of 1000 parameters trained; clean 75%, PGD-10 prompt-agnostic 55%, adaptive 50% (item 1 flagged), CW-20 not run, no AutoAttack.
        Assert.Contains("| prompt tuning: adapt-ce | 19 (1.90%) | 75.0 | - | 55.0 | 50.0 | - | - | - | 1 | 1.0 min |", study);
        Assert.Contains("| adapt-ce | 19 (1.90%) | 0.1 KiB | 75.0% | 55.0% | 50.0% | - | 1 |", demo);
        Assert.Contains("| method | trained params | prompt file | clean | PGD-10 prompt-agnostic | PGD-10 adaptive | AutoAttack (adaptive, n=-) | masking flags |", demo);
    }

    [Fact]
    public void RaysBelowAdaptivePgdOnTheSamePointsIsFlagged()
    {
        var run = StudyPlan.Cpu.Runs.Single(r => r.Id == "pt-adapt-ce");
        Assert.True(StudyReport.BlackBoxBeatsWhiteBox(Result(run, 0.75, 0.5, 0.55, rays: 0.40, raysPgd: 0.50)));
        Assert.False(StudyReport.BlackBoxBeatsWhiteBox(Result(run, 0.75, 0.5, 0.55, rays: 0.60, raysPgd: 0.50)));
        Assert.Equal(2, StudyReport.Flags(Result(run, 0.75, 0.1, 0.6, rays: 0.05, raysPgd: 0.1)));
        Assert.Equal(0, StudyReport.Flags(Result(run, 0.75, 0.5, 0.5)));
    }
}

using AdaptSharp.Attacks;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cli;
using AdaptSharp.Cluster;
using AdaptSharp.Data;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Evaluation;

/// <summary>
/// Transfer attacks in the evaluation engine: adapt eval --surrogate end to end (columns, worst case, flags equal to a
/// library-level transfer with the same seeds), refusals, resume and merge identity, interruption.
/// Serial: it calls the CLI in-process, whose per-invocation state (Interruption) is process-wide.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class TransferEvaluationTests : IDisposable
{
    private const int Points = 24; // 3 batches of 8
    private const long Seed = 5;
    private readonly string work = EvaluationFixtures.TempDirectory();
    private readonly string dataDir;
    private readonly string backbone;
    private readonly string prompts;
    private readonly string wide;

    public TransferEvaluationTests()
    {
        using var model = EvaluationFixtures.PromptedModel(numClasses: 10);
        (backbone, prompts, _) = EvaluationFixtures.SaveBackboneAndPrompts(model, work);
        dataDir = EvaluationFixtures.LabelledMnistFolder(model, Path.Combine(work, "data"), Points);
        // an unrelated surrogate with 16x16 inputs: the 8x8 evaluation images are resized for it
        wide = SaveBackbone("wide16.safetensors", EvaluationFixtures.TinyConfig with { NumClasses = 10, ImageSize = 16 }, seed: 9);
    }

    public void Dispose() => Directory.Delete(work, recursive: true);

    private string SaveBackbone(string name, VitConfig config, long seed)
    {
        var path = Path.Combine(work, name);
        using var m = new VisionTransformer(config, seed: seed);
        using (no_grad())
            m.Head!.weight!.mul_(50.0);
        BackboneFile.Save(path, m);
        return path;
    }

    private string[] EvalArgs(string outDir, string? surrogates, string attacks = "clean,fgsm,pgd5") =>
    [
        "eval", "--backbone", backbone, "--prompts", prompts, "--data", $"mnist:{dataDir}", "--limit", $"{Points}",
        "--eps", "0.1", "--attacks", attacks, "--batch-size", "8", "--no-checks", "--no-plots", "--seed", $"{Seed}",
        "--device", "cpu", "--out", outDir, .. surrogates is null ? Array.Empty<string>() : ["--surrogate", surrogates],
    ];

    [Fact]
    public void EvalWithTwoSurrogatesAddsTransferColumnsThatMatchALibraryTransferAndResumesOnlyWithTheSameSurrogates()
    {
        var outDir = Path.Combine(work, "eval");
        Assert.Equal(0, Program.Main(EvalArgs(outDir, $"{backbone},{wide}")));
        var saved = ReportWriter.TryLoad(outDir)!;
        var report = saved.Report;
        Assert.True(report.Complete);
        string[] transfers = ["transfer:backbone", "transfer:wide16", "transfer:ensemble"];
        Assert.Equal(["clean/adaptive", "fgsm/adaptive", .. transfers.Select(t => "fgsm/" + t), "pgd5/adaptive", .. transfers.Select(t => "pgd5/" + t)],
            report.Attacks.Select(a => $"{a.Name}/{a.SourceName}"));
        Assert.Equal(["backbone", "wide16"], report.Surrogates.Select(s => s.Name));

        // the worst case is over every column, transfers included
        var robustEverywhere = Enumerable.Range(0, Points).Count(p => Enumerable.Range(0, report.Attacks.Count).All(c => saved.Flags[p, c] == 1));
        Assert.Equal((double)robustEverywhere / Points, report.RobustAccuracy);
        Assert.All(report.Attacks, a => Assert.True(report.RobustAccuracy <= a.RobustAccuracy, $"worst case above {$"{a.Name}/{a.SourceName}"}"));
        Assert.NotEqual(CheckStatus.NotRun, report.Checklist.Single(c => c.Number == 3).Status);
        var markdown = File.ReadAllText(Path.Combine(outDir, ReportWriter.MarkdownFile));
        Assert.Contains("## Transfer from surrogates", markdown);
        Assert.Contains("| pgd5 | ", markdown);

        // each transfer column is the library's transfer attack, batch by batch with the runner's per-batch seeds
        using (var target = ModelLoader.Load(new ModelRequest(backbone, null, Prompts: prompts), CPU))
        using (var near = SurrogateLoader.Load(new SurrogateSpec(backbone, null), null, target.Model.Config, CPU))
        using (var far = SurrogateLoader.Load(new SurrogateSpec(wide, null), null, target.Model.Config, CPU))
        {
            target.Model.eval();
            var (images, labels) = DatasetLoader.LoadEvaluationSet(DatasetSpec.Parse($"mnist:{dataDir}"), Points, 8, 1, DatasetSplit.Test);
            using var x = images;
            using var y = labels;
            var views = new[] { near.View, far.View, SurrogateEnsemble.Average([near.View, far.View]) };
            foreach (var (view, source) in views.Zip(transfers))
            {
                var column = report.Runs.ToList().FindIndex(r => r.Key == "pgd5/" + source);
                var expected = LibraryTransfer(target.Model, view, x, y, AttackSpec.Parse("pgd5"));
                Assert.Equal(expected, Enumerable.Range(0, Points).Select(p => saved.Flags[p, column]).ToArray());
            }
        }

        // resuming needs the same surrogates: other ones, fewer, or the same names with other weights are refused
        Assert.Equal(0, Program.Main([.. EvalArgs(outDir, $"{backbone},{wide}"), "--resume"]));
        Assert.Equal(saved.Flags.Values, ReportWriter.TryLoad(outDir)!.Flags.Values);
        var created = ReportWriter.TryLoad(outDir)!.Report.CreatedUtc;
        Assert.Equal(CliRunner.UserError, Program.Main([.. EvalArgs(outDir, backbone), "--resume"]));
        Assert.Equal(CliRunner.UserError, Program.Main([.. EvalArgs(outDir, null), "--resume"]));
        using (var target = ModelLoader.Load(new ModelRequest(backbone, null, Prompts: prompts), CPU))
        using (var near = SurrogateLoader.Load(new SurrogateSpec(backbone, null), null, target.Model.Config, CPU))
        {
            var options = new EvaluationOptions
            {
                Threat = ThreatModel.LInf(0.1),
                Attacks = AttackSpec.ParseList("clean,fgsm,pgd5"),
                Seed = Seed,
                BatchSize = 8,
                RunChecks = false,
                Data = report.Data,
                Surrogates = ["backbone"],
            };
            var (images, labels) = DatasetLoader.LoadEvaluationSet(DatasetSpec.Parse($"mnist:{dataDir}"), Points, 8, 1, DatasetSplit.Test);
            using var x = images;
            using var y = labels;
            var e = Assert.Throws<ArgumentException>(() => new RobustnessEvaluator(target.Model, options, [near]).Run(x, y, resume: saved));
            Assert.Contains("surrogates", e.Message);
            Assert.Contains("wide16", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        SaveBackbone("wide16.safetensors", EvaluationFixtures.TinyConfig with { NumClasses = 10, ImageSize = 16 }, seed: 10);
        Assert.Equal(CliRunner.UserError, Program.Main([.. EvalArgs(outDir, $"{backbone},{wide}"), "--resume"]));
        Assert.Equal(created, ReportWriter.TryLoad(outDir)!.Report.CreatedUtc);
    }

    [Fact]
    public void SurrogatesThatCannotBeUsedAreOneLineErrorsAndWriteNothing()
    {
        var corrupt = Path.Combine(work, "corrupt.safetensors");
        File.WriteAllBytes(corrupt, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var sevenClasses = SaveBackbone("seven.safetensors", EvaluationFixtures.TinyConfig with { NumClasses = 7 }, seed: 4);
        var rgb = SaveBackbone("rgb.safetensors", EvaluationFixtures.TinyConfig with { NumClasses = 10, InChannels = 3, Mean = [0.5f, 0.5f, 0.5f], Std = [0.25f, 0.25f, 0.25f] }, seed: 4);
        var cases = new (string Name, string[] Args)[]
        {
            ("missing", EvalArgs(Path.Combine(work, "missing"), Path.Combine(work, "nowhere.safetensors"))),
            ("corrupt", EvalArgs(Path.Combine(work, "corrupt"), corrupt)),
            ("classes", EvalArgs(Path.Combine(work, "classes"), $"{wide},{sevenClasses}")),
            ("channels", EvalArgs(Path.Combine(work, "channels"), rgb)),
            ("prompts of another backbone", EvalArgs(Path.Combine(work, "foreign"), $"{wide}:{prompts}")),
            ("no white-box attack", EvalArgs(Path.Combine(work, "blackbox"), wide, attacks: "clean,square20")),
            ("model without surrogate", [.. EvalArgs(Path.Combine(work, "model-only"), null), "--surrogate-model", ModelPresets.SmallCpuPreset]),
        };
        foreach (var (name, args) in cases)
        {
            Assert.True(CliRunner.UserError == Program.Main(args), name);
            Assert.False(Directory.Exists(args[Array.IndexOf(args, "--out") + 1]), $"{name}: wrote its --out");
        }
    }

    [Fact]
    public void ASurrogateEqualToTheTargetGivesTheAdaptiveFlags()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 16);
        using var itself = new SurrogateModel("itself", EvaluationFixtures.PromptedModel());
        using var other = new SurrogateModel("other", EvaluationFixtures.PromptedModel(seed: 8));
        var options = EvaluationFixtures.Options("clean", "fgsm", "pgd5") with { RunChecks = false, Sources = [AttackSource.Adaptive], Surrogates = ["itself", "other"] };
        var result = new RobustnessEvaluator(model, options, [itself, other]).Run(images, labels);
        int Column(string key) => result.Report.Runs.ToList().FindIndex(r => r.Key == key);
        sbyte[] Flags(string key) => Enumerable.Range(0, 16).Select(p => result.Flags[p, Column(key)]).ToArray();
        foreach (var attack in new[] { "fgsm", "pgd5" })
        {
            Assert.Equal(Flags($"{attack}/adaptive"), Flags($"{attack}/transfer:itself"));
            Assert.True(Column($"{attack}/transfer:ensemble") >= 0);
        }
        Assert.Contains((sbyte)0, Flags("pgd5/adaptive"));
        Assert.Throws<ArgumentException>(() => new RobustnessEvaluator(model, options, [itself]));
        Assert.Throws<ArgumentException>(() => new RobustnessEvaluator(model, options with { Attacks = AttackSpec.ParseList("clean,square20") }, [itself, other]));
    }

    [Fact]
    public void AnInterruptedTransferEvaluationResumesToTheFlagsOfItsMergedShards()
    {
        using var model = EvaluationFixtures.PromptedModel();
        var (images, labels) = EvaluationFixtures.Data(model, 16);
        using var a = new SurrogateModel("a", EvaluationFixtures.PromptedModel(seed: 8));
        using var b = new SurrogateModel("b", new VisionTransformer(EvaluationFixtures.TinyConfig, seed: 9));
        var options = EvaluationFixtures.Options("clean", "pgd5") with { RunChecks = false, Sources = [AttackSource.Adaptive], Surrogates = ["a", "b"] };

        // uninterrupted, in two shards (one batch each), merged
        var shards = Enumerable.Range(1, 2)
            .Select(k => ($"shard-{k}", new RobustnessEvaluator(model, options with { Shard = new ShardSpec(k, 2) }, [a, b]).Run(images, labels)))
            .ToList();
        var merged = ShardMerger.Merge(shards);
        Assert.Equal(["a", "b"], merged.Report.Surrogates.Select(s => s.Name));
        Assert.Equal("ensemble", merged.Report.Runs.Single(r => r.Key == "pgd5/transfer:ensemble").Surrogate);
        Assert.DoesNotContain(merged.Flags.Values, v => v == RobustFlags.NotDone);

        // whole, interrupted inside the transfer runs and resumed from the saved state
        var dir = EvaluationFixtures.TempDirectory();
        try
        {
            using var cts = new CancellationTokenSource();
            var saved = 0;
            Assert.ThrowsAny<OperationCanceledException>(() => new RobustnessEvaluator(model, options, [a, b]).Run(images, labels, checkpoint: state =>
            {
                ReportWriter.WriteState(dir, state);
                if (++saved == 5) cts.Cancel(); // 2 batches per run: clean, pgd5/adaptive, then inside pgd5/transfer:a
            }, cancellationToken: cts.Token));
            var partial = ReportWriter.TryLoad(dir)!;
            Assert.Equal(8, partial.Report.Runs.Single(r => r.Key == "pgd5/transfer:a").Done);
            Assert.Equal(0, partial.Report.Runs.Single(r => r.Key == "pgd5/transfer:ensemble").Done);
            var resumed = new RobustnessEvaluator(model, options, [a, b]).Run(images, labels, resume: partial);
            Assert.Equal(merged.Flags.Values, resumed.Flags.Values);
            Assert.Equal(merged.Report.Attacks.Select(x => ($"{x.Name}/{x.SourceName}", x.Robust)), resumed.Report.Attacks.Select(x => ($"{x.Name}/{x.SourceName}", x.Robust)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        // a shard made with other surrogates is not merged
        var alone = new RobustnessEvaluator(model, options with { Shard = new ShardSpec(2, 2), Attacks = AttackSpec.ParseList("clean,fgsm"), Surrogates = ["a"] }, [a])
            .Run(images, labels);
        var e = Assert.Throws<ArgumentException>(() => ShardMerger.Merge([shards[0], ("alone", alone)]));
        Assert.Contains("surrogates", e.Message);
    }

    [Fact]
    public void EveryStageOfATransferredCascadeIsGeneratedOnItsSurrogate()
    {
        var options = EvaluationFixtures.Options("clean", "square20", "autoattack") with { Sources = [AttackSource.Adaptive], Surrogates = ["a", "b"] };
        var plan = EvalPlanner.Build(options, 16, hasPrompts: true, pixelsPerImage: 64);
        Assert.Equal(["clean/adaptive", "square20/adaptive", "autoattack/adaptive", "autoattack/transfer:a", "autoattack/transfer:b", "autoattack/transfer:ensemble"],
            plan.Columns.Select(r => r.Key));
        var stages = plan.Runs.Where(r => r.Role == RunRole.Stage && r.Key.StartsWith("autoattack/transfer:ensemble:", StringComparison.Ordinal)).ToList();
        Assert.Equal(["apgd-ce", "apgd-t", "fab-t", "square"], stages.Select(r => r.Key.Split(':')[^1]));
        Assert.All(stages, r => Assert.Equal((AttackSource.Transfer, "ensemble", "autoattack"), (r.Source, r.Surrogate, r.SeedKey)));
        Assert.Equal("autoattack/transfer:ensemble:square", plan.Runs.Single(r => r.Key == "autoattack/transfer:ensemble").Over);
        Assert.DoesNotContain(plan.Runs, r => r.Role is RunRole.Check or RunRole.Sweep && r.Source == AttackSource.Transfer);
    }

    /// <summary>
    /// <paramref name="spec"/> generated on <paramref name="view"/> and scored on f_P, batch by batch (8 points) with the
    /// evaluation's per-batch seeds, over the points f_P classifies correctly: 1 robust, 0 not.
    /// </summary>
    private static sbyte[] LibraryTransfer(VisionTransformer target, ModelView view, Tensor images, Tensor labels, AttackSpec spec)
    {
        var flags = new sbyte[Points];
        for (var batch = 0; batch * 8 < Points; batch++)
        {
            using var scope = NewDisposeScope();
            var x = images.narrow(0, batch * 8, 8).to(ScalarType.Float32);
            var y = labels.narrow(0, batch * 8, 8).to(ScalarType.Int64);
            bool[] correct;
            using (no_grad())
                correct = target.Prompted.Forward(x).argmax(1).eq(y).data<bool>().ToArray();
            var index = Enumerable.Range(0, 8).Where(i => correct[i]).Select(i => (long)i).ToArray();
            if (index.Length == 0)
                continue;
            var selected = tensor(index);
            var xs = x.index_select(0, selected);
            var ys = y.index_select(0, selected);
            var adv = spec.Create(ThreatModel.LInf(0.1), RobustnessEvaluator.DeriveSeed(Seed, spec.ToString(), batch)).Perturb(view, xs, ys);
            bool[] survived;
            using (no_grad())
                survived = target.Prompted.Forward(adv).argmax(1).eq(ys).data<bool>().ToArray();
            for (var i = 0; i < index.Length; i++)
                flags[batch * 8 + index[i]] = survived[i] ? (sbyte)1 : (sbyte)0;
        }
        return flags;
    }
}

using AdaptSharp.Attacks;
using AdaptSharp.Training;

namespace AdaptSharp.Study;

/// <summary>
/// Sizes and runs of the reproduction study (issue: methods x attacks, obfuscation gap, ablations, seeds).
/// <see cref="Cpu"/> is the documented study; <see cref="Mini"/> the same runs at toy sizes for tests. A preset
/// (the demo, <see cref="Demo.DemoPlan"/>) gives its own <see cref="PresetRuns"/>, suite and folder names.
/// </summary>
internal sealed record StudyPlan
{
    public required string Name { get; init; }

    /// <summary>The command the plan belongs to (study, demo): names the recipes of its runs.</summary>
    public string Command { get; init; } = "study";

    /// <summary>Attacks of every run's main evaluation, each generated on f_P and on f_0.</summary>
    public IReadOnlyList<AttackSpec> Suite { get; init; } =
        [new CleanSpec(), StudyRunner.FgsmAttack, StudyRunner.PgdAttack, StudyRunner.CwAttack];

    /// <summary>Folder of the trained artifacts in the output folder.</summary>
    public string ArtifactFolder { get; init; } = "artifacts";

    /// <summary>Folder of the main evaluation in eval/ID/.</summary>
    public string MainPart { get; init; } = "main";

    /// <summary>The runs of a preset; null: the study's runs, built from the sizes below.</summary>
    public IReadOnlyList<StudyRun>? PresetRuns { get; init; }

    /// <summary>Training images (the first N of the training split); null = all 60,000.</summary>
    public int? TrainImages { get; init; }

    public int Epochs { get; init; } = 4;

    public int BatchSize { get; init; } = 128;

    /// <summary>Peak one-cycle SGD learning rate for prompt tuning and linear probing.</summary>
    public double PromptLearningRate { get; init; } = 0.1;

    /// <summary>Peak one-cycle SGD learning rate when every parameter is trained.</summary>
    public double FullLearningRate { get; init; } = 0.01;

    public double Eps { get; init; } = 0.1;

    /// <summary>Inner attack of every adversarial objective: PGD steps and step size (uniform random start).</summary>
    public int InnerSteps { get; init; } = 5;

    public double InnerStep { get; init; } = 0.03;

    public bool Augment { get; init; }

    /// <summary>Test points (the first N of the test split) for every column but AutoAttack and RayS.</summary>
    public int EvalPoints { get; init; } = 1000;

    /// <summary>
    /// Test points (the first N) for AutoAttack standard. 500 in the CPU study: on a robust run its Square stage alone
    /// costs about 5,000 forwards per still-robust point.
    /// </summary>
    public int AutoAttackPoints { get; init; } = 500;

    /// <summary>Test points (the first N) for RayS: a hard-label attack that spends its whole budget on robust points.</summary>
    public int RaysPoints { get; init; } = 200;

    public int RaysQueries { get; init; } = 10_000;

    public int CheckPoints { get; init; } = 200;

    public int EvalBatchSize { get; init; } = 250;

    /// <summary>
    /// Batch size of the AutoAttack evaluation; null = <see cref="EvalBatchSize"/>. Its batches are the units a parallel
    /// demo splits that evaluation into (each batch has its own seed, so the split does not change a flag).
    /// </summary>
    public int? AutoAttackBatchSize { get; init; }

    /// <summary>The main prompt layout; the length ablation varies T in deep:T.</summary>
    public string Prompts { get; init; } = "deep:4";

    public IReadOnlyList<int> PromptLengths { get; init; } = [5, 10, 25, 50];

    public IReadOnlyList<double> Lambdas { get; init; } = [1, 3, 6, 12];

    public IReadOnlyList<long> Seeds { get; init; } = [0, 1, 2];

    public IReadOnlyList<StudyRun> Runs => PresetRuns ?? BuildRuns();

    /// <summary>The documented study: the demo's tuning until 2026-11-30 (15,000 images, 4 epochs, PGD-5 inner attack, deep:4) for every run.</summary>
    public static StudyPlan Cpu { get; } = new() { Name = "cpu", TrainImages = 15_000, Epochs = 4 };

    public static StudyPlan Mini { get; } = new()
    {
        Name = "mini",
        TrainImages = 64,
        Epochs = 1,
        BatchSize = 32,
        InnerSteps = 2,
        EvalPoints = 24,
        AutoAttackPoints = 4,
        RaysPoints = 4,
        RaysQueries = 50,
        CheckPoints = 8,
        EvalBatchSize = 24,
        Prompts = "deep:2",
        PromptLengths = [2, 3],
        Lambdas = [1, 6],
        Seeds = [0, 1],
    };

    public static StudyPlan Get(string name) => name.Trim().ToLowerInvariant() switch
    {
        "cpu" => Cpu,
        "mini" => Mini,
        _ => throw new ArgumentException($"unknown study plan '{name}' (cpu, mini)"),
    };

    private IReadOnlyList<StudyRun> BuildRuns()
    {
        var runs = new List<StudyRun>();
        var seed0 = Seeds.Count > 0 ? Seeds[0] : 0;
        var length = Models.PromptConfig.Parse(Prompts).Length;
        StudyRun Prompt(ObjectiveKind method, bool aa = false, bool rays = false) => PromptRun(method, seed0) with { AutoAttack = aa, Rays = rays };
        runs.Add(Prompt(ObjectiveKind.Natural, aa: true));
        runs.Add(Prompt(ObjectiveKind.At, aa: true, rays: true));
        runs.Add(Prompt(ObjectiveKind.Trades, aa: true));
        runs.Add(Prompt(ObjectiveKind.Mart));
        runs.Add(Prompt(ObjectiveKind.Nfgsm));
        runs.Add(Prompt(ObjectiveKind.AdaptCe, aa: true, rays: true));
        runs.Add(Prompt(ObjectiveKind.AdaptKl, aa: true));
        runs.Add(new StudyRun { Id = "full-at", Group = StudyGroups.Main, Label = "full fine-tuning: at", Method = ObjectiveKind.At, Prompts = "none", Trainable = "full", Seed = seed0, AutoAttack = true });
        runs.Add(new StudyRun { Id = "full-trades", Group = StudyGroups.Main, Label = "full fine-tuning: trades", Method = ObjectiveKind.Trades, Prompts = "none", Trainable = "full", Seed = seed0 });
        runs.Add(new StudyRun { Id = "linear-at", Group = StudyGroups.Main, Label = "linear probing: at", Method = ObjectiveKind.At, Prompts = "none", Trainable = "linear", Seed = seed0 });

        StudyRun Ablation(string id, string group, string label) => new() { Id = id, Group = group, Label = label, Prompts = Prompts, Seed = seed0 };
        foreach (var t in PromptLengths.Where(t => t != length))
            runs.Add(Ablation($"abl-deep{t}", StudyGroups.PromptLength, $"adapt-ce, deep:{t}") with { Prompts = $"deep:{t}" });
        runs.Add(Ablation($"abl-shallow{length}", StudyGroups.PromptMode, $"adapt-ce, shallow:{length}") with { Prompts = $"shallow:{length}" });
        foreach (var l in Lambdas.Where(l => l != 6.0))
            runs.Add(Ablation($"abl-lambda{l:G}", StudyGroups.Lambda, $"adapt-ce, lambda {l:G}") with { Lambda = l });
        runs.Add(Ablation("abl-frozen-patch", StudyGroups.Patch, "adapt-ce, patch embedding frozen") with { Trainable = "head" });

        foreach (var seed in Seeds.Skip(1))
            foreach (var method in new[] { ObjectiveKind.Natural, ObjectiveKind.At, ObjectiveKind.AdaptCe })
                runs.Add(Prompt(method) with { Id = $"pt-{TrainingObjective.FormatKind(method)}-seed{seed}", Group = StudyGroups.Seeds, Seed = seed, AutoAttack = false, Rays = false });
        return runs;
    }

    /// <summary>
    /// A rough relative cost for splitting runs across processes: training passes per image (inner steps + 2 for the
    /// adversarial objectives) times tokens, plus AutoAttack and RayS budgets.
    /// </summary>
    public double EstimatedCost(StudyRun run)
    {
        var tokens = 17.0 + Models.PromptConfig.Parse(run.Prompts).Length;
        var passes = run.Method switch
        {
            ObjectiveKind.Natural => 3.0,
            ObjectiveKind.Nfgsm => 6.0,
            _ => 3.0 * (InnerSteps + 2),
        };
        var cost = passes * tokens * (TrainImages ?? 60_000) * Epochs;
        cost += 3.0 * 60 * tokens * EvalPoints;
        if (run.AutoAttack)
            cost += 3.0 * 1000 * tokens * AutoAttackPoints;
        if (run.Rays)
            cost += 0.5 * RaysQueries * tokens * RaysPoints;
        return cost;
    }

    /// <summary>A main-table run tuning the plan's prompts with <paramref name="method"/>: "pt-METHOD", "prompt tuning: METHOD".</summary>
    public StudyRun PromptRun(ObjectiveKind method, long seed) => new()
    {
        Id = $"pt-{TrainingObjective.FormatKind(method)}",
        Group = StudyGroups.Main,
        Label = $"prompt tuning: {TrainingObjective.FormatKind(method)}",
        Method = method,
        Prompts = Prompts,
        Seed = seed,
    };

    /// <summary>
    /// The runs of shard <paramref name="k"/> of <paramref name="n"/> (1-based): longest runs first, each to the
    /// least loaded shard, so shards finish at about the same time. Deterministic, and the shards partition the runs.
    /// </summary>
    public IReadOnlyList<StudyRun> Shard(IReadOnlyList<StudyRun> runs, int k, int n)
    {
        var load = new double[n];
        var owner = new Dictionary<string, int>();
        foreach (var run in runs.OrderByDescending(EstimatedCost).ThenBy(r => r.Id, StringComparer.Ordinal))
        {
            var least = Array.IndexOf(load, load.Min());
            owner[run.Id] = least;
            load[least] += EstimatedCost(run);
        }
        return runs.Where(r => owner[r.Id] == k - 1).ToList();
    }
}

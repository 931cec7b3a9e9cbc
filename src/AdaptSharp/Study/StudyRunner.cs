using AdaptSharp.Attacks;
using AdaptSharp.Checkpoints;
using AdaptSharp.Cluster;
using AdaptSharp.Data;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
using AdaptSharp.Training;
using static TorchSharp.torch;

namespace AdaptSharp.Study;

/// <summary>
/// Trains and evaluates the runs of a <see cref="StudyPlan"/> in an output folder. Every step is skipped when its
/// result is already there (artifact file, complete report), and an interrupted training resumes from its run
/// folder's checkpoint, so the study can be stopped and restarted, and split across processes with disjoint runs.
/// Layout: artifacts/ID.safetensors, runs/ID/ (metrics.jsonl, checkpoint), eval/ID/{main,autoattack,rays}/ (a preset such as
/// the demo names the artifact and main folders: prompts/ID.safetensors, eval/ID/pgd/).
/// </summary>
/// <param name="backboneLabel">How the backbone is named in commands and reports (default: its path).</param>
internal sealed class StudyRunner(StudyPlan plan, string backbone, DatasetSpec data, string outputDirectory, string device = "auto",
    Action<string>? log = null, string? backboneLabel = null)
{
    public static readonly AttackSpec PgdAttack = new PgdSpec(10);
    public static readonly AttackSpec CwAttack = new CwSpec(20);
    public static readonly AttackSpec FgsmAttack = new FgsmSpec(RandomStart: false);

    private readonly Action<string> log = log ?? (_ => { });
    private readonly string backboneLabel = backboneLabel ?? backbone;

    public string ArtifactPath(StudyRun run) => Path.Combine(outputDirectory, plan.ArtifactFolder, $"{run.Id}.safetensors");

    public string RunDirectory(StudyRun run) => Path.Combine(outputDirectory, "runs", run.Id);

    public string EvalDirectory(StudyRun run, string part) => Path.Combine(outputDirectory, "eval", run.Id, part);

    /// <summary>The recipe a run trains with; its name and description label the run folder's config.json.</summary>
    public TrainingRecipe RecipeFor(StudyRun run) => new()
    {
        Name = $"{plan.Command}-{plan.Name}-{run.Id}",
        Description = $"{plan.Command} ({plan.Name}): {run.Label}",
        Method = run.Method,
        Lambda = run.Lambda,
        Prompts = run.Prompts,
        Trainable = run.Trainable,
        Epochs = plan.Epochs,
        BatchSize = plan.BatchSize,
        LearningRate = run.LearningRate ?? (run.FullFineTuning ? plan.FullLearningRate : plan.PromptLearningRate),
        Augment = plan.Augment,
        EvalPoints = 0,
        CheckpointEvery = 1,
        Attack = new InnerAttackOptions(plan.Eps, plan.InnerStep, plan.InnerSteps),
    };

    /// <summary>The `adapt tune` command equivalent to a run's training (recorded in docs and the artifact).</summary>
    public string TuneCommand(StudyRun run)
    {
        var r = RecipeFor(run);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"adapt tune --backbone {backboneLabel} --data {data} --method {TrainingObjective.FormatKind(run.Method)} --lambda {run.Lambda:G} " +
            $"--prompt-layout {run.Prompts} --train {run.Trainable} --epochs {r.Epochs} --batch-size {r.BatchSize} --lr {r.LearningRate:G} " +
            $"--eps {plan.Eps:G} --step {plan.InnerStep:G} --steps {plan.InnerSteps}{(plan.Augment ? "" : " --no-augment")}" +
            $"{(plan.TrainImages is int n ? $" --limit {n}" : "")} --seed {run.Seed} --eval-points 0 --out {ArtifactPath(run)}");
    }

    /// <summary>Trains (or reuses) and evaluates one run.</summary>
    public StudyRunResult Run(StudyRun run,
        Func<TrainingJobSpec, TrainingJobResult> train,
        EvaluationDriver evaluate)
    {
        var reused = Train(run, train);
        return WithTestPoints(run, (model, x, y) =>
        {
            var (main, rays) = EvaluateMainAndRays(run, model, x, y, evaluate);
            var autoAttack = run.AutoAttack ? EvaluateAutoAttack(run, model, x, y, evaluate) : null;
            return Result(run, model.CountParameters(TrainableSets.Parse(run.Trainable)), main, autoAttack, rays, reused);
        });
    }

    /// <summary>
    /// The unfinished work of the pending runs as units that worker processes can do side by side: a run's training,
    /// then its main evaluation and its AutoAttack split into at most <paramref name="autoAttackShards"/> shards (one per
    /// batch at most), both after the training. The trainings come first, then the evaluations, each in <see cref="Pending"/>
    /// order (the most expensive run first): a worker that takes the first ready unit starts every training as early as it
    /// can, since a training unlocks its run's evaluations (in the demo, the cheap natural run's training used to wait until
    /// adapt-ce's AutoAttack, leaving its evaluations as a tail on one worker).
    /// </summary>
    public IReadOnlyList<StudyWorkUnit> WorkUnits(int autoAttackShards)
    {
        var trainings = new List<StudyWorkUnit>();
        var units = new List<StudyWorkUnit>();
        foreach (var run in Pending())
        {
            var train = $"{run.Id}.train";
            IReadOnlyList<string> after = File.Exists(ArtifactPath(run)) ? [] : [train];
            if (after.Count > 0)
                trainings.Add(new StudyWorkUnit(train, run, StudyStage.Train, null, []));
            if (!Complete(EvalDirectory(run, plan.MainPart)) || (run.Rays && !Complete(EvalDirectory(run, "rays"))))
                units.Add(new StudyWorkUnit($"{run.Id}.eval", run, StudyStage.Evaluate, null, after));
            var autoAttack = EvalDirectory(run, AutoAttackPart);
            if (!run.AutoAttack || Complete(autoAttack))
                continue;
            // AutoAttack runs on the first of the points the evaluations load (plan.EvalPoints)
            var points = Math.Min(plan.AutoAttackPoints, plan.EvalPoints);
            // shards started earlier are finished as they are; a whole evaluation started earlier resumes as one unit
            var shards = StartedShardCount(autoAttack)
                         ?? (ReportWriter.TryLoad(autoAttack) is not null ? 1
                             : Math.Clamp(autoAttackShards, 1, Math.Max(1, ShardSpec.BatchCount(points, AutoAttackBatchSize))));
            if (shards == 1)
                units.Add(new StudyWorkUnit($"{run.Id}.autoattack", run, StudyStage.AutoAttack, null, after));
            else
                units.AddRange(Enumerable.Range(1, shards).Select(k => new ShardSpec(k, shards))
                    .Where(shard => !Complete(Path.Combine(autoAttack, shard.DirectoryName)))
                    .Select(shard => new StudyWorkUnit($"{run.Id}.autoattack-{shard.Index}-of-{shards}", run, StudyStage.AutoAttack, shard, after)));
        }
        return [.. trainings, .. units];
    }

    /// <summary>
    /// Does one <see cref="StudyWorkUnit"/> (in a worker process). An AutoAttack shard saves its state in
    /// eval/ID/autoattack/shard-K-of-N/; <see cref="Run"/> merges the shards into the evaluation's report.
    /// </summary>
    public void RunUnit(StudyWorkUnit unit, Func<TrainingJobSpec, TrainingJobResult> train, EvaluationDriver evaluate)
    {
        var run = unit.Run;
        if (unit.Stage == StudyStage.Train)
        {
            Train(run, train);
            return;
        }
        if (!File.Exists(ArtifactPath(run)))
            throw new InvalidOperationException($"{unit.Id}: {ArtifactPath(run)} does not exist yet: the run's training comes first");
        WithTestPoints(run, (model, x, y) =>
        {
            if (unit.Stage == StudyStage.Evaluate)
                EvaluateMainAndRays(run, model, x, y, evaluate);
            else if (unit.Shard is { } shard)
                EvaluateAutoAttackShard(run, model, x, y, evaluate, shard);
            else
                EvaluateAutoAttack(run, model, x, y, evaluate);
            return 0;
        });
    }

    /// <summary>
    /// Refuses, in one line naming the differences, when a tuning of <paramref name="runs"/> already in the output folder was
    /// made with another recipe, data, --limit or seed than the plan's (an earlier version's plan, another --seed): called
    /// before any run starts, so nothing is trained or evaluated first. <see cref="ResumableTuning"/> checks each reuse again.
    /// </summary>
    public void RequireReusableTunings(IEnumerable<StudyRun> runs)
    {
        foreach (var run in runs.Where(run => File.Exists(ArtifactPath(run))))
            RunConfig.RequireSameTuning(TrainingSpec(run));
    }

    /// <summary>Trains the run's artifact, or reuses it (true) when it is already there.</summary>
    private bool Train(StudyRun run, Func<TrainingJobSpec, TrainingJobResult> train) => ResumableTuning.Run(TrainingSpec(run), train, run.Id, log);

    private TrainingJobSpec TrainingSpec(StudyRun run) => new()
    {
        BackbonePath = backbone,
        Data = data,
        Recipe = RecipeFor(run),
        OutputPath = ArtifactPath(run),
        RunDirectory = RunDirectory(run),
        Device = device,
        Seed = run.Seed,
        TrainLimit = plan.TrainImages,
        CommandLine = TuneCommand(run),
    };

    private T WithTestPoints<T>(StudyRun run, Func<VisionTransformer, Tensor, Tensor, T> body)
    {
        using var loaded = ModelLoader.Load(Request(run), TorchRuntime.ResolveDevice(device));
        var model = loaded.Model;
        var (x, y) = DatasetLoader.LoadEvaluationSet(data, plan.EvalPoints, model.Config.ImageSize, model.Config.InChannels,
            model.parameters().First().device, DatasetSplit.Test);
        using (x)
        using (y)
            return body(model, x, y);
    }

    private (EvaluationResult Main, EvaluationResult? Rays) EvaluateMainAndRays(StudyRun run, VisionTransformer model, Tensor x, Tensor y, EvaluationDriver evaluate)
    {
        var main = EvaluateCached(EvalDirectory(run, plan.MainPart), model, x, y, evaluate, plan.EvalPoints, Options(run, model, plan.Suite) with
        {
            Sources = [AttackSource.Adaptive, AttackSource.Agnostic],
            RunChecks = true,
            CheckPoints = Math.Min(plan.CheckPoints, plan.EvalPoints),
        }, $"{run.Id}: {string.Join(",", plan.Suite)} (adaptive and prompt-agnostic)");
        var rays = run.Rays
            ? EvaluateCached(EvalDirectory(run, "rays"), model, x, y, evaluate, plan.RaysPoints, Options(run, model, [new CleanSpec(), new RaysSpec(plan.RaysQueries)]),
                $"{run.Id}: RayS ({plan.RaysQueries} queries)")
            : null;
        return (main, rays);
    }

    private int AutoAttackBatchSize => plan.AutoAttackBatchSize ?? plan.EvalBatchSize;

    private EvaluationOptions AutoAttackOptions(StudyRun run, VisionTransformer model) =>
        Options(run, model, [new CleanSpec(), new AutoAttackSpec(AutoAttackVersion.Standard)]) with { BatchSize = AutoAttackBatchSize };

    private const string AutoAttackTitle = "AutoAttack standard (adaptive)";

    private const string AutoAttackPart = "autoattack";

    /// <summary>
    /// AutoAttack on the run's first points: the finished report, else the merge of the shards that workers started
    /// (each finished here if it is not), else the whole evaluation here.
    /// </summary>
    private EvaluationResult EvaluateAutoAttack(StudyRun run, VisionTransformer model, Tensor x, Tensor y, EvaluationDriver evaluate)
    {
        var directory = EvalDirectory(run, AutoAttackPart);
        var m = Math.Min(plan.AutoAttackPoints, (int)x.shape[0]);
        if (StartedShardCount(directory) is not { } count || Complete(directory, m))
            return EvaluateCached(directory, model, x, y, evaluate, plan.AutoAttackPoints, AutoAttackOptions(run, model), $"{run.Id}: {AutoAttackTitle}");
        var shards = Enumerable.Range(1, count)
            .Select(k => (Path.Combine(directory, new ShardSpec(k, count).DirectoryName), EvaluateAutoAttackShard(run, model, x, y, evaluate, new ShardSpec(k, count))))
            .ToList();
        log($"merging {count} shards of {directory}");
        var merged = ShardMerger.Merge(shards);
        ReportWriter.WriteAll(directory, merged, plots: true);
        return merged;
    }

    /// <summary>One shard of the run's AutoAttack in its shard-K-of-N folder: only the state is written (the merge writes the report).</summary>
    private EvaluationResult EvaluateAutoAttackShard(StudyRun run, VisionTransformer model, Tensor x, Tensor y, EvaluationDriver evaluate, ShardSpec shard) =>
        EvaluateCached(Path.Combine(EvalDirectory(run, AutoAttackPart), shard.DirectoryName), model, x, y, evaluate, plan.AutoAttackPoints,
            AutoAttackOptions(run, model) with { Shard = shard }, $"{run.Id}: {AutoAttackTitle}, shard {shard}", writeReport: false);

    /// <summary>
    /// N when workers started the AutoAttack in <paramref name="directory"/> as N shards (shard-K-of-N folders; the first
    /// in name order when an earlier run used another N), so a later run finishes those shards rather than starting over.
    /// </summary>
    private static int? StartedShardCount(string directory) =>
        Directory.Exists(directory)
            ? Directory.GetDirectories(directory, ShardSpec.DirectoryPattern).Order(StringComparer.Ordinal)
                .Select(folder => ShardSpec.FromDirectoryName(Path.GetFileName(folder))?.Count).FirstOrDefault(n => n is not null)
            : null;

    /// <summary>Whether <paramref name="directory"/> holds a finished evaluation (of <paramref name="points"/> points when given).</summary>
    private static bool Complete(string directory, int? points = null) =>
        ReportWriter.TryLoad(directory) is { Report.Complete: true } done && (points is null || done.Report.N == points);

    /// <summary>
    /// Trains (or reuses) and evaluates every run of the plan, for a report that also shows the backbone alone (its
    /// source, size and clean accuracy). <paramref name="ranElsewhere"/>: runs that worker processes finished for this
    /// call (not reused).
    /// </summary>
    public StudyResult RunAll(Func<TrainingJobSpec, TrainingJobResult> train, EvaluationDriver evaluate, string backboneSource, string machine,
        IReadOnlyCollection<string>? ranElsewhere = null)
    {
        var results = plan.Runs.Select(run => Run(run, train, evaluate))
            .Select(r => ranElsewhere?.Contains(r.Run.Id) == true ? r with { Reused = false } : r).ToList();
        return new StudyResult(plan, backboneLabel, results, [], machine)
        {
            Command = TuneCommand,
            BackboneSource = backboneSource,
            BackboneBytes = new FileInfo(backbone).Length,
            BackboneCleanAccuracy = BackboneCleanAccuracy(),
        };
    }

    /// <summary>What the output folder holds: the finished runs in plan order and the unfinished ones. Runs nothing.</summary>
    public StudyResult Collect(string machine)
    {
        var finished = plan.Runs.Select(TryLoad).OfType<StudyRunResult>().ToList();
        var missing = plan.Runs.Where(run => !finished.Any(f => f.Run == run)).ToList();
        return new StudyResult(plan, backboneLabel, finished, missing, machine) { Command = TuneCommand };
    }

    /// <summary>The runs whose artifact or an evaluation is not finished yet, the most expensive first.</summary>
    public IReadOnlyList<StudyRun> Pending() =>
        plan.Runs.Where(run => TryLoad(run) is not { } done || (run.AutoAttack && done.AutoAttack is null) || (run.Rays && done.Rays is null))
            .OrderByDescending(plan.EstimatedCost).ToList();

    /// <summary>Clean accuracy of the backbone file alone: f_0 of a tuned model carries the tuned head and patch embedding.</summary>
    private double BackboneCleanAccuracy()
    {
        using var plain = ModelLoader.Load(new ModelRequest(backbone, null), TorchRuntime.ResolveDevice(device));
        var (x, y) = DatasetLoader.LoadEvaluationSet(data, plan.EvalPoints, plain.Model.Config.ImageSize, plain.Model.Config.InChannels,
            plain.Model.parameters().First().device, DatasetSplit.Test);
        using (x)
        using (y)
        {
            var options = new EvaluationOptions { Threat = ThreatModel.LInf(0), Attacks = [new CleanSpec()], BatchSize = plan.EvalBatchSize, RunChecks = false };
            return new RobustnessEvaluator(plain.Model, options).Run(x, y).Report.CleanAccuracy;
        }
    }

    /// <summary>An evaluation of a run's model with <paramref name="attacks"/>: adaptive only (the default source), without the checklist's runs.</summary>
    private EvaluationOptions Options(StudyRun run, VisionTransformer model, IReadOnlyList<AttackSpec> attacks) => new()
    {
        Threat = ThreatModel.LInf(plan.Eps),
        Attacks = attacks,
        Seed = run.Seed,
        BatchSize = plan.EvalBatchSize,
        RunChecks = false,
        Data = data.ToString(),
        ModelName = $"{model.Config.Name} + {run.Label}",
    };

    /// <summary>
    /// An evaluation on the first <paramref name="points"/> points kept in <paramref name="directory"/>: a complete report for
    /// the same number of points is reused, a partial one (an interrupted run) is resumed, otherwise the evaluation starts.
    /// The state is written after every batch; at the end report.json, flags.npy, report.md and plots.
    /// </summary>
    private EvaluationResult EvaluateCached(string directory, VisionTransformer model, Tensor x, Tensor y, EvaluationDriver evaluate, int points,
        EvaluationOptions options, string title, bool writeReport = true)
    {
        var m = Math.Min(points, (int)x.shape[0]);
        using var xs = x.narrow(0, 0, m);
        using var ys = y.narrow(0, 0, m);
        var previous = ReportWriter.TryLoad(directory);
        if (previous is { Report.Complete: true } && previous.Report.N == m)
        {
            log($"reusing {directory}");
            return previous;
        }
        if (previous is not null)
            log($"resuming {directory}");
        var result = evaluate(new RobustnessEvaluator(model, options), xs, ys, $"{title}, n={m}", previous, state => ReportWriter.WriteState(directory, state));
        if (writeReport)
            ReportWriter.WriteAll(directory, result, plots: true);
        return result;
    }

    /// <summary>Loads what is already finished (artifact and main report present) without running anything.</summary>
    public StudyRunResult? TryLoad(StudyRun run)
    {
        var main = ReportWriter.TryLoad(EvalDirectory(run, plan.MainPart));
        if (!File.Exists(ArtifactPath(run)) || main is not { Report.Complete: true })
            return null;
        EvaluationResult? Finished(bool wanted, string part) =>
            wanted && ReportWriter.TryLoad(EvalDirectory(run, part)) is { Report.Complete: true } done ? done : null;
        return Result(run, ReadParameterCount(run), main, Finished(run.AutoAttack, AutoAttackPart), Finished(run.Rays, "rays"));
    }

    /// <summary>
    /// A run's result from its evaluations; RayS is compared with adaptive PGD on the same first points, from the main
    /// evaluation's per-point flags.
    /// </summary>
    private StudyRunResult Result(StudyRun run, ParameterCount parameters, EvaluationResult main, EvaluationResult? autoAttack, EvaluationResult? rays,
        bool reused = false)
    {
        var pgd = main.Report.Attacks.ToList().FindIndex(a => a.Attack == PgdAttack && a.Source == AttackSource.Adaptive);
        double? raysPgd = rays is { Report.N: > 0 and var m } && pgd >= 0 ? (double)Enumerable.Range(0, m).Count(p => main.Flags[p, pgd] == 1) / m : null;
        return new StudyRunResult(run, ArtifactPath(run), new FileInfo(ArtifactPath(run)).Length, parameters, TrainSeconds(run), main.Report,
            autoAttack?.Report, rays?.Report, raysPgd, reused);
    }

    /// <summary>Training time summed over the run's epochs (metrics.jsonl), so resumed and reused runs count once.</summary>
    private double TrainSeconds(StudyRun run) => EpochMetrics.TotalSeconds(Path.Combine(RunDirectory(run), Trainer.MetricsFileName));

    private ParameterCount ReadParameterCount(StudyRun run)
    {
        using var loaded = ModelLoader.Load(Request(run), CPU);
        return loaded.Model.CountParameters(TrainableSets.Parse(run.Trainable));
    }

    /// <summary>A run's trained model: the artifact itself after full fine-tuning, else the backbone with the artifact's prompts.</summary>
    private ModelRequest Request(StudyRun run) =>
        run.FullFineTuning ? new ModelRequest(ArtifactPath(run), null) : new ModelRequest(backbone, null, Prompts: ArtifactPath(run));
}

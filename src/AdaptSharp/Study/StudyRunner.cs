using AdaptSharp.Attacks;
using AdaptSharp.Checkpoints;
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
internal sealed class StudyRunner
{
    public static readonly AttackSpec PgdAttack = new PgdSpec(10);
    public static readonly AttackSpec CwAttack = new CwSpec(20);
    public static readonly AttackSpec FgsmAttack = new FgsmSpec(RandomStart: false);

    private readonly StudyPlan plan;
    private readonly string backbone;
    private readonly DatasetSpec data;
    private readonly string outputDirectory;
    private readonly string device;
    private readonly Action<string> log;
    private readonly string backboneLabel;

    /// <param name="backboneLabel">How the backbone is named in commands and reports (default: its path).</param>
    public StudyRunner(StudyPlan plan, string backbone, DatasetSpec data, string outputDirectory, string device = "auto",
        Action<string>? log = null, string? backboneLabel = null)
    {
        this.backboneLabel = backboneLabel ?? backbone;
        this.plan = plan;
        this.backbone = backbone;
        this.data = data;
        this.outputDirectory = outputDirectory;
        this.device = device;
        this.log = log ?? (_ => { });
    }

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
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return string.Create(inv,
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
        var artifact = ArtifactPath(run);
        var runDirectory = RunDirectory(run);
        var reused = ResumableTuning.Run(new TrainingJobSpec
        {
            BackbonePath = backbone,
            Data = data,
            Recipe = RecipeFor(run),
            OutputPath = artifact,
            RunDirectory = runDirectory,
            Device = device,
            Seed = run.Seed,
            TrainLimit = plan.TrainImages,
            CommandLine = TuneCommand(run),
        }, train, run.Id, log);

        var trainSeconds = TrainSeconds(run);

        using var loaded = ModelLoader.Load(Request(run), TorchRuntime.ResolveDevice(device));
        var model = loaded.Model;
        var parameters = model.CountParameters(TrainableSets.Parse(run.Trainable));

        var (xd, yd) = DatasetLoader.LoadEvaluationSet(data, plan.EvalPoints, model.Config.ImageSize, model.Config.InChannels,
            model.parameters().First().device, DatasetSplit.Test);
        using (xd)
        using (yd)
        {
            var main = CachedEvaluation.Run(EvalDirectory(run, plan.MainPart), model, xd, yd, evaluate, Options(run, model, plan.Suite) with
            {
                Sources = [AttackSource.Adaptive, AttackSource.Agnostic],
                RunChecks = true,
                CheckPoints = Math.Min(plan.CheckPoints, plan.EvalPoints),
            }, $"{run.Id}: {string.Join(",", plan.Suite)} (adaptive and prompt-agnostic), n={plan.EvalPoints}", log);

            EvaluationResult? autoAttack = null;
            if (run.AutoAttack)
                autoAttack = EvaluateSubset(run, "autoattack", model, xd, yd, evaluate, plan.AutoAttackPoints, [new CleanSpec(), new AutoAttackSpec(AutoAttackVersion.Standard)], "AutoAttack standard (adaptive)");

            EvaluationResult? rays = null;
            double? raysPgd = null;
            if (run.Rays)
            {
                rays = EvaluateSubset(run, "rays", model, xd, yd, evaluate, plan.RaysPoints, [new CleanSpec(), new RaysSpec(plan.RaysQueries)], $"RayS ({plan.RaysQueries} queries)");
                raysPgd = SubsetAccuracy(main, PgdAttack, AttackSource.Adaptive, (int)Math.Min(plan.RaysPoints, plan.EvalPoints));
            }

            return new StudyRunResult(run, artifact, new FileInfo(artifact).Length, parameters, trainSeconds,
                main.Report, autoAttack?.Report, rays?.Report, raysPgd, reused);
        }
    }

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

    /// <summary>An evaluation of a run's model with <paramref name="attacks"/>: adaptive only, without the checklist's runs.</summary>
    private EvaluationOptions Options(StudyRun run, VisionTransformer model, IReadOnlyList<AttackSpec> attacks) => new()
    {
        Threat = ThreatModel.LInf(plan.Eps),
        Attacks = attacks,
        Sources = [AttackSource.Adaptive],
        Seed = run.Seed,
        BatchSize = plan.EvalBatchSize,
        RunChecks = false,
        Data = data.ToString(),
        ModelName = $"{model.Config.Name} + {run.Label}",
    };

    private EvaluationResult EvaluateSubset(StudyRun run, string part, VisionTransformer model, Tensor x, Tensor y, EvaluationDriver evaluate,
        int points, IReadOnlyList<AttackSpec> attacks, string title)
    {
        var m = Math.Min(points, (int)x.shape[0]);
        using var xs = x.narrow(0, 0, m);
        using var ys = y.narrow(0, 0, m);
        return CachedEvaluation.Run(EvalDirectory(run, part), model, xs, ys, evaluate, Options(run, model, attacks), $"{run.Id}: {title}, n={m}", log);
    }

    /// <summary>Accuracy of one column on the first <paramref name="points"/> points, from the per-point flags.</summary>
    public static double? SubsetAccuracy(EvaluationResult result, AttackSpec attack, AttackSource source, int points)
    {
        var index = result.Report.Attacks.ToList().FindIndex(a => a.Attack == attack && a.Source == source);
        if (index < 0 || points <= 0)
            return null;
        var robust = 0;
        for (int p = 0; p < points; p++)
            if (result.Flags[p, index] == 1)
                robust++;
        return (double)robust / points;
    }

    /// <summary>Loads what is already finished (artifact and main report present) without running anything.</summary>
    public StudyRunResult? TryLoad(StudyRun run)
    {
        var artifact = ArtifactPath(run);
        var main = ReportWriter.TryLoad(EvalDirectory(run, plan.MainPart));
        if (!File.Exists(artifact) || main is not { Report.Complete: true })
            return null;
        var aa = run.AutoAttack ? ReportWriter.TryLoad(EvalDirectory(run, "autoattack")) : null;
        var rays = run.Rays ? ReportWriter.TryLoad(EvalDirectory(run, "rays")) : null;
        return new StudyRunResult(run, artifact, new FileInfo(artifact).Length, ReadParameterCount(run), TrainSeconds(run), main.Report,
            aa is { Report.Complete: true } ? aa.Report : null,
            rays is { Report.Complete: true } ? rays.Report : null,
            rays is { Report.Complete: true } ? SubsetAccuracy(main, PgdAttack, AttackSource.Adaptive, rays.Report.N) : null);
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

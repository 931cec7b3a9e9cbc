using System.Diagnostics;
using System.Globalization;
using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// Runs a robustness suite on a <see cref="VisionTransformer"/>: every white-box attack is generated on f_P
/// (adaptive) and/or f_0 (prompt-agnostic) and always scored on f_P; every adversarial batch is checked by
/// the <see cref="ThreatModel"/> before it counts. Attacks run per batch on the points f_P classifies
/// correctly, with a seed derived from (seed, attack, batch), so a resumed run redoes exactly the same work.
/// Then it runs the checklist's subset attacks and the eps sweep, and fills the gradient-masking checklist.
/// </summary>
public sealed class RobustnessEvaluator
{
    private readonly VisionTransformer model;
    private readonly EvaluationOptions options;
    private readonly IReadOnlyList<SuiteColumn> columns;

    public RobustnessEvaluator(VisionTransformer model, EvaluationOptions options)
    {
        options.Validate();
        this.model = model;
        this.options = options;
        columns = options.Columns();
    }

    public IReadOnlyList<SuiteColumn> Columns => columns;

    /// <summary>
    /// Evaluates <paramref name="images"/> (N,C,H,W in [0,1], any device) with <paramref name="labels"/> (N).
    /// <paramref name="resume"/>: a partial (or complete) earlier result of the same model, data, seed, threat
    /// model and batch size; its finished batches and runs are kept. <paramref name="checkpoint"/> is called
    /// with the state after every batch and run (write it to disk to make the run resumable).
    /// </summary>
    public EvaluationResult Run(Tensor images, Tensor labels, Action<EvaluationProgress>? progress = null,
        EvaluationResult? resume = null, Action<EvaluationResult>? checkpoint = null, CancellationToken cancellationToken = default)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"images must be (N,C,H,W), got [{string.Join(",", images.shape)}]");
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"labels must be (N) with N = {images.shape[0]}, got [{string.Join(",", labels.shape)}]");
        var n = checked((int)images.shape[0]);
        if (n == 0)
            throw new ArgumentException("no evaluation points");

        var state = new RunState(this, n);
        if (resume is not null)
            state.Adopt(resume);

        var wasTraining = model.training;
        var gradientFlags = model.parameters().Select(p => (Parameter: p, p.requires_grad)).ToList();
        try
        {
            model.eval();
            foreach (var (p, _) in gradientFlags)
                p.requires_grad_(false);

            for (var c = 0; c < columns.Count; c++)
            {
                RunColumn(state, c, images, labels, progress, checkpoint, cancellationToken);
            }

            if (options.RunChecks)
                RunChecklist(state, images, labels, progress, checkpoint, cancellationToken);

            RunSweep(state, images, labels, progress, checkpoint, cancellationToken);
        }
        finally
        {
            foreach (var (p, requiresGrad) in gradientFlags)
                p.requires_grad_(requiresGrad);
            model.train(wasTraining);
        }

        var result = state.Snapshot(complete: true);
        checkpoint?.Invoke(result);
        return result;
    }

    private void RunColumn(RunState state, int c, Tensor images, Tensor labels, Action<EvaluationProgress>? progress,
        Action<EvaluationResult>? checkpoint, CancellationToken cancellationToken)
    {
        var column = columns[c];
        var n = state.N;
        var batch = options.BatchSize;
        var start = state.Flags.DonePrefix(c) / batch * batch;
        var stats = state.Stats[c];
        Report(progress, column.Key, c, start, state);
        for (var first = start; first < n; first += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(batch, n - first);
            var watch = Stopwatch.StartNew();
            bool[] robust;
            using (var scope = NewDisposeScope())
            {
                var (x, y) = Slice(images, labels, first, count);
                if (AttackCatalog.IsClean(column.Attack))
                {
                    robust = TensorOps.ToBools(Predict(model.Prompted, x).eq(y));
                }
                else
                {
                    var cleanCorrect = Enumerable.Range(first, count).Select(p => state.Flags[p, 0] == 1).ToArray();
                    var outcome = AttackBatch(column.Attack, column.Source, options.Threat, x, y, cleanCorrect,
                        DeriveSeed(options.Seed, column.Attack, first / batch));
                    robust = outcome.Robust;
                    stats.MaxPerturbation = Math.Max(stats.MaxPerturbation, outcome.MaxNorm);
                    stats.GradientEvaluations += outcome.GradientEvaluations;
                    stats.Queries += outcome.Queries;
                }
            }
            state.Flags.Set(c, first, robust);
            stats.Seconds += watch.Elapsed.TotalSeconds;
            Report(progress, column.Key, c, first + count, state);
            checkpoint?.Invoke(state.Snapshot(complete: false));
        }
    }

    private void Report(Action<EvaluationProgress>? progress, string stage, int c, int done, RunState state)
    {
        if (progress is null) return;
        var robust = 0;
        for (var p = 0; p < done; p++)
            if (state.Flags[p, c] == 1) robust++;
        progress(new EvaluationProgress(stage, c, state.StageCount, done, state.N, done == 0 ? 0.0 : (double)robust / done));
    }

    private void RunChecklist(RunState state, Tensor images, Tensor labels, Action<EvaluationProgress>? progress,
        Action<EvaluationResult>? checkpoint, CancellationToken cancellationToken)
    {
        var m = Math.Min(options.CheckPoints, state.N);
        foreach (var (purpose, attack, source, threat) in ChecklistRuns(images))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var index = state.StageIndex($"check:{purpose}");
            if (state.CheckRuns.Any(r => r.Purpose == purpose && r.Attack == attack && r.Source == source && r.Points == m && r.Threat == threat))
                continue;
            state.CheckRuns.RemoveAll(r => r.Purpose == purpose);
            var stage = $"check: {attack}/{AttackSources.Format(source)} at eps {threat.Eps.ToString("G4", CultureInfo.InvariantCulture)}";
            // One seed key for all checklist runs, so the adaptive and agnostic runs share their random starts.
            var run = RunOnPoints(stage, index, state, images, labels, m, attack, source, threat, "check", progress, cancellationToken);
            state.CheckRuns.Add(new SubsetRun(purpose, attack, source, threat, m, run.Robust, run.MaxNorm, run.Seconds));
            checkpoint?.Invoke(state.Snapshot(complete: false));
        }
        if (state.Gradients is null || state.Gradients.Points != m)
        {
            state.Gradients = MeasureGradients(images, labels, m);
            checkpoint?.Invoke(state.Snapshot(complete: false));
        }
    }

    /// <summary>
    /// The checklist's subset runs: the suite's first PGD (else PGD-10) adaptive and prompt-agnostic (check 1),
    /// FGSM (check 2), PGD with 5x the steps and 2 restarts (check 5), PGD at a very large eps (check 4).
    /// </summary>
    private List<(string Purpose, string Attack, AttackSource Source, ThreatModel Threat)> ChecklistRuns(Tensor images)
    {
        var basePgd = options.Attacks.Select(AttackCatalog.Normalize).FirstOrDefault(AttackCatalog.IsPgd) ?? "pgd10";
        var baseSteps = int.Parse(basePgd[3..].Split('x')[0], CultureInfo.InvariantCulture);
        var runs = new List<(string, string, AttackSource, ThreatModel)>
        {
            (MaskingChecklist.PurposeConvergenceBase, basePgd, AttackSource.Adaptive, options.Threat),
        };
        if (model.HasPrompts)
            runs.Add((MaskingChecklist.PurposeAgnosticPgd, basePgd, AttackSource.Agnostic, options.Threat));
        runs.Add((MaskingChecklist.PurposeFgsm, "fgsm", AttackSource.Adaptive, options.Threat));
        runs.Add((MaskingChecklist.PurposeConvergenceStrong, $"pgd{baseSteps * 5}x2", AttackSource.Adaptive, options.Threat));
        runs.Add((MaskingChecklist.PurposeLargeEps, $"pgd{Math.Max(baseSteps, 20)}", AttackSource.Adaptive,
            options.Threat with { Eps = LargeEps(images) }));
        return runs;
    }

    private void RunSweep(RunState state, Tensor images, Tensor labels, Action<EvaluationProgress>? progress,
        Action<EvaluationResult>? checkpoint, CancellationToken cancellationToken)
    {
        if (options.EpsSweep.Count == 0) return;
        var attack = options.SweepAttack is { } s ? AttackCatalog.Normalize(s)
            : options.Attacks.Select(AttackCatalog.Normalize).FirstOrDefault(AttackCatalog.IsPgd) ?? "pgd10";
        var sources = AttackCatalog.IsWhiteBox(attack) ? options.Sources.Distinct().ToList() : [AttackSource.Adaptive];
        foreach (var eps in options.EpsSweep.Distinct())
        {
            foreach (var source in sources)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var index = state.StageIndex($"sweep:{eps:R}:{AttackSources.Format(source)}");
                if (state.Sweep.Any(p => p.Eps == eps && p.Attack == attack && p.Source == source && p.Points == state.N))
                    continue;
                var threat = options.Threat with { Eps = eps };
                var stage = $"sweep: {attack}/{AttackSources.Format(source)} at eps {eps.ToString("G4", CultureInfo.InvariantCulture)}";
                var run = RunOnPoints(stage, index, state, images, labels, state.N, attack, source, threat, $"sweep-{eps:R}", progress, cancellationToken);
                state.Sweep.Add(new EpsSweepPoint(eps, attack, source, state.N, run.Robust));
                checkpoint?.Invoke(state.Snapshot(complete: false));
            }
        }
    }

    private (int Robust, double MaxNorm, double Seconds) RunOnPoints(string stage, int stageIndex, RunState state, Tensor images,
        Tensor labels, int m, string attack, AttackSource source, ThreatModel threat, string seedKey,
        Action<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        int robust = 0, done = 0;
        var maxNorm = 0.0;
        progress?.Invoke(new EvaluationProgress(stage, stageIndex, state.StageCount, 0, m, 0.0));
        for (var first = 0; first < m; first += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(options.BatchSize, m - first);
            using var scope = NewDisposeScope();
            var (x, y) = Slice(images, labels, first, count);
            var outcome = AttackBatch(attack, source, threat, x, y, null, DeriveSeed(options.Seed, $"{seedKey}|{attack}", first / options.BatchSize));
            robust += outcome.Robust.Count(r => r);
            maxNorm = Math.Max(maxNorm, outcome.MaxNorm);
            done += count;
            progress?.Invoke(new EvaluationProgress(stage, stageIndex, state.StageCount, done, m, (double)robust / done));
        }
        return (robust, maxNorm, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Attacks the points of one batch that f_P classifies correctly (all others are not robust), validates the
    /// adversarial batch against the threat model and scores it on f_P.
    /// </summary>
    private (bool[] Robust, double MaxNorm, long GradientEvaluations, long Queries) AttackBatch(
        string attackName, AttackSource source, ThreatModel threat, Tensor x, Tensor y, bool[]? cleanCorrect, long seed)
    {
        using var scope = NewDisposeScope();
        var count = (int)x.shape[0];
        cleanCorrect ??= TensorOps.ToBools(Predict(model.Prompted, x).eq(y));
        var robust = new bool[count];
        var candidates = Enumerable.Range(0, count).Where(i => cleanCorrect[i]).Select(i => (long)i).ToArray();
        if (candidates.Length == 0)
            return (robust, 0.0, 0, 0);

        var attack = AttackCatalog.Create(attackName, threat, seed)
            ?? throw new ArgumentException("clean is not an attack");
        var view = source == AttackSource.Adaptive || !AttackCatalog.IsWhiteBox(attackName) ? model.Prompted : model.Unprompted;
        var index = tensor(candidates, device: x.device);
        var xs = x.index_select(0, index);
        var ys = y.index_select(0, index);
        // AutoAttack runs its cascade on the points still robust on f_P, whichever view generates.
        var adv = attack is AutoAttack autoAttack ? autoAttack.Run(view, model.Prompted, xs, ys).Adversarial : attack.Perturb(view, xs, ys);
        var maxNorm = threat.Validate(adv, xs);
        var survived = TensorOps.ToBools(Predict(model.Prompted, adv).eq(ys));
        for (var i = 0; i < candidates.Length; i++)
            robust[candidates[i]] = survived[i];
        return (robust, maxNorm, attack.GradientEvaluations, attack.Queries);
    }

    private GradientStatistics MeasureGradients(Tensor images, Tensor labels, int m)
    {
        int zero = 0, nonFinite = 0;
        var absSum = 0.0;
        long elements = 0;
        for (var first = 0; first < m; first += options.BatchSize)
        {
            var count = Math.Min(options.BatchSize, m - first);
            using var scope = NewDisposeScope();
            var (x, y) = Slice(images, labels, first, count);
            using var enable = enable_grad();
            var input = x.detach().clone();
            input.requires_grad_(true);
            var loss = Losses.CrossEntropy(model.Prompted.Forward(input), y).sum();
            var grad = autograd.grad([loss], [input])[0].detach().flatten(1);
            var finite = isfinite(grad);
            nonFinite += (int)finite.all(1).logical_not().sum().item<long>();
            zero += (int)grad.abs().amax(1).eq(0).sum().item<long>();
            absSum += where(finite, grad.abs(), zeros_like(grad)).sum().ToDouble();
            elements += grad.numel();
        }
        return new GradientStatistics(m, zero, nonFinite, elements == 0 ? 0.0 : absSum / elements);
    }

    private double LargeEps(Tensor images)
    {
        if (options.LargeEps is { } eps) return eps;
        return options.Threat.Norm == AttackNorm.LInf ? 0.5 : 0.5 * Math.Sqrt(images[0].numel());
    }

    private (Tensor X, Tensor Y) Slice(Tensor images, Tensor labels, int first, int count)
    {
        var device = model.parameters().First().device;
        var x = images.narrow(0, first, count).to(ScalarType.Float32, device);
        var y = labels.narrow(0, first, count).to(ScalarType.Int64, device);
        return (x, y);
    }

    private static Tensor Predict(ModelView view, Tensor x)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return view.Forward(x).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>A per-(attack, batch) seed: stable across runs and processes; adaptive and agnostic share it.</summary>
    public static long DeriveSeed(long seed, string key, int batch)
    {
        var h = 14695981039346656037UL;
        foreach (var ch in key)
        {
            h ^= ch;
            h *= 1099511628211UL;
        }
        var z = unchecked((ulong)seed) ^ h ^ (0x9E3779B97F4A7C15UL * (ulong)(batch + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (long)((z ^ (z >> 31)) >> 1);
    }

    private sealed class ColumnStats
    {
        public double MaxPerturbation;
        public double Seconds;
        public long GradientEvaluations;
        public long Queries;
    }

    /// <summary>The mutable state of one run, from which reports are snapshotted.</summary>
    private sealed class RunState
    {
        private readonly RobustnessEvaluator owner;

        public RunState(RobustnessEvaluator owner, int n)
        {
            this.owner = owner;
            N = n;
            Flags = new RobustFlags(n, owner.columns.Count);
            Stats = owner.columns.Select(_ => new ColumnStats()).ToArray();
            ModelFingerprintHex = ModelFingerprint.Backbone(owner.model);
            PromptFingerprintHex = ModelFingerprint.Prompts(owner.model);
        }

        public int N { get; }

        public RobustFlags Flags { get; private set; }

        public ColumnStats[] Stats { get; }

        public List<SubsetRun> CheckRuns { get; } = [];

        public List<EpsSweepPoint> Sweep { get; } = [];

        public GradientStatistics? Gradients { get; set; }

        public string ModelFingerprintHex { get; }

        public string? PromptFingerprintHex { get; }

        /// <summary>Wall time of earlier (resumed) runs.</summary>
        public double PreviousSeconds { get; private set; }

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        private readonly List<string> extraStages = [];

        /// <summary>Stages: suite columns, then checklist runs and sweep points (counted as they come).</summary>
        public int StageCount => owner.columns.Count + Math.Max(extraStages.Count, ExpectedExtraStages);

        private int ExpectedExtraStages => (owner.options.RunChecks ? 4 + (owner.model.HasPrompts ? 1 : 0) : 0)
                                          + owner.options.EpsSweep.Distinct().Count() * owner.options.Sources.Distinct().Count();

        public int StageIndex(string key)
        {
            if (!extraStages.Contains(key)) extraStages.Add(key);
            return owner.columns.Count + extraStages.IndexOf(key);
        }

        public void Adopt(EvaluationResult previous)
        {
            var r = previous.Report;
            var o = owner.options;
            void Require(bool same, string what)
            {
                if (!same) throw new ArgumentException($"cannot resume: the {what} differs from the saved run's");
            }
            Require(r.ModelFingerprint == ModelFingerprintHex, "model (backbone fingerprint)");
            Require(r.PromptFingerprint == PromptFingerprintHex, "prompts (prompt fingerprint)");
            Require(r.N == N && previous.Flags.Points == N, "number of points");
            Require(r.Seed == o.Seed, "seed");
            Require(r.Threat == o.Threat, "threat model");
            Require(r.BatchSize == o.BatchSize, "batch size");
            Require(r.Data == o.Data && r.Split == o.Split, "data");
            Require(previous.Flags.Columns == r.Attacks.Count, "flags' column count");

            var keys = r.Attacks.Select(a => a.Column.Key).ToList();
            var map = owner.columns.Select(c => keys.IndexOf(c.Key)).ToList();
            Flags = previous.Flags.Remap(map);
            for (var c = 0; c < map.Count; c++)
            {
                if (map[c] < 0) continue;
                var a = r.Attacks[map[c]];
                Stats[c].MaxPerturbation = a.MaxPerturbation;
                Stats[c].Seconds = a.Seconds;
                Stats[c].GradientEvaluations = a.GradientEvaluations;
                Stats[c].Queries = a.Queries;
            }
            CheckRuns.AddRange(r.CheckRuns);
            Sweep.AddRange(r.EpsSweep);
            Gradients = r.Gradients;
            PreviousSeconds = r.TotalSeconds;
        }

        public EvaluationResult Snapshot(bool complete)
        {
            var o = owner.options;
            var attacks = new List<AttackResult>();
            for (var c = 0; c < owner.columns.Count; c++)
            {
                var column = owner.columns[c];
                var done = Flags.DoneCount(c);
                var robust = Flags.RobustCount(c);
                var (cumRobust, cumDone) = Flags.Cumulative(c);
                var s = Stats[c];
                attacks.Add(new AttackResult(column.Attack, column.Source,
                    AttackCatalog.Describe(column.Attack, o.Threat), done, robust,
                    done == 0 ? 0.0 : (double)robust / done, cumDone == 0 ? 0.0 : (double)cumRobust / cumDone,
                    s.MaxPerturbation, s.Seconds, s.GradientEvaluations, s.Queries));
            }
            var (allRobust, allDone) = Flags.Cumulative(owner.columns.Count - 1);
            var checklist = MaskingChecklist.Evaluate(attacks, N, CheckRuns, Gradients, owner.model.HasPrompts, o.Thresholds);
            var report = new RobustnessReport
            {
                Model = o.ModelName ?? owner.model.Config.Name,
                ModelFingerprint = ModelFingerprintHex,
                PromptFingerprint = PromptFingerprintHex,
                Prompts = owner.model.PromptConfig.ToString(),
                Data = o.Data,
                Split = o.Split,
                N = N,
                Seed = o.Seed,
                Threat = o.Threat,
                BatchSize = o.BatchSize,
                Attacks = attacks,
                CleanAccuracy = attacks[0].RobustAccuracy,
                RobustAccuracy = allDone == 0 ? 0.0 : (double)allRobust / allDone,
                SourceGaps = SourceGap.From(attacks, N),
                Checklist = checklist,
                CheckRuns = CheckRuns.ToList(),
                Gradients = Gradients,
                EpsSweep = Sweep.OrderBy(p => p.Source).ThenBy(p => p.Eps).ToList(),
                Complete = complete,
                CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                TotalSeconds = PreviousSeconds + Clock.Elapsed.TotalSeconds,
            };
            return new EvaluationResult(report, Flags.Clone());
        }
    }
}

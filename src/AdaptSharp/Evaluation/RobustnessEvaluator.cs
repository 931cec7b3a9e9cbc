using System.Diagnostics;
using AdaptSharp.Attacks;
using AdaptSharp.Cluster;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// The evaluation runner: runs an <see cref="EvalPlan"/> on a <see cref="VisionTransformer"/> batch by batch. Every
/// run attacks the points still robust where its plan says so, generates on its source's view (f_P adaptive, f_0
/// prompt-agnostic, a surrogate or the surrogates' ensemble for a transfer) and scores on f_P; every adversarial batch is checked by the run's <see cref="ThreatModel"/>
/// before it counts. Each batch gets a seed derived from (seed, run's seed key, batch index), so a resumed (or
/// sharded) run redoes exactly the same work. The state is checkpointed after every batch and resumes by run key
/// and spec; cancellation is honoured between batches.
/// </summary>
public sealed class RobustnessEvaluator
{
    private readonly VisionTransformer model;
    private readonly EvaluationOptions options;
    private readonly IReadOnlyList<SurrogateModel> surrogates;
    private readonly Dictionary<string, ModelView> transferViews;

    /// <param name="surrogates">The surrogates named by <see cref="EvaluationOptions.Surrogates"/>, in that order (their
    /// input size may differ from the model's; see <see cref="SurrogateModel"/>).</param>
    public RobustnessEvaluator(VisionTransformer model, EvaluationOptions options, IReadOnlyList<SurrogateModel>? surrogates = null)
    {
        options.Validate();
        surrogates ??= [];
        if (!surrogates.Select(s => s.Name).SequenceEqual(options.Surrogates))
            throw new ArgumentException($"the surrogates given ({string.Join(", ", surrogates.Select(s => s.Name).DefaultIfEmpty("none"))}) " +
                                        $"are not the ones the options name ({string.Join(", ", options.Surrogates.DefaultIfEmpty("none"))})");
        this.model = model;
        this.options = options;
        this.surrogates = surrogates;
        transferViews = SurrogateEnsemble.Sources(surrogates).ToDictionary(v => v.Name[AttackSources.TransferPrefix.Length..]);
    }

    /// <summary>The plan this evaluator runs on <paramref name="n"/> points of <paramref name="pixelsPerImage"/> values.</summary>
    public EvalPlan Plan(int n, long pixelsPerImage) => EvalPlanner.Build(options, n, model.HasPrompts, pixelsPerImage);

    /// <summary>
    /// Evaluates <paramref name="images"/> (N,C,H,W in [0,1], any device) with <paramref name="labels"/> (N).
    /// <paramref name="resume"/>: an earlier state of the same model, data, seed, threat model, batch size and plan;
    /// its finished batches are kept. <paramref name="checkpoint"/> gets the state after every batch (write it to
    /// disk to make the run resumable).
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

        var plan = Plan(n, images[0].numel());
        var id = new EvalPlanIdentity(options.ModelName ?? model.Config.Name, ModelFingerprint.Backbone(model), ModelFingerprint.Prompts(model),
            model.PromptConfig.ToString(), model.HasPrompts)
        {
            Surrogates = surrogates.Select(s => new SurrogateIdentity(s.Name, ModelFingerprint.Backbone(s.Model), ModelFingerprint.Prompts(s.Model))).ToList(),
        };
        var state = new EvaluationState(plan, n, options, id);
        if (resume is not null)
            state.Adopt(resume, (same, what) =>
            {
                if (!same) throw new ArgumentException($"cannot resume: the {what} differs from the saved run's");
            });

        var wasTraining = model.training;
        var gradientFlags = model.parameters().Select(p => (Parameter: p, p.requires_grad)).ToList();
        try
        {
            model.eval();
            foreach (var (p, _) in gradientFlags)
                p.requires_grad_(false);
            var stages = plan.Runs.Count + (options.RunChecks ? 1 : 0);
            for (var i = 0; i < plan.Runs.Count; i++)
                Execute(plan.Runs[i], i, stages, state, images, labels, progress, () => checkpoint?.Invoke(state.Snapshot(complete: false)),
                    cancellationToken);
            var checkPoints = Math.Min(options.CheckPoints, n);
            if (options.RunChecks && (state.Gradients is null || state.Gradients.Points != PointsInShard(checkPoints, n)))
            {
                cancellationToken.ThrowIfCancellationRequested();
                state.Gradients = MeasureGradients(images, labels, checkPoints, n);
                checkpoint?.Invoke(state.Snapshot(complete: false));
            }
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

    private void Execute(PlanRun run, int index, int stages, EvaluationState state, Tensor images, Tensor labels,
        Action<EvaluationProgress>? progress, Action checkpoint, CancellationToken cancellationToken)
    {
        var flags = state.Flags[run.Key];
        var stats = state.Stats[run.Key];
        var label = run.Role == RunRole.Column ? run.Key : $"{run.Key}: {run.Spec}/{run.SourceName}";
        var total = PointsInShard(run.Points, state.N);
        void Report()
        {
            var done = flags.Take(run.Points).Count(v => v != RobustFlags.NotDone);
            var robust = flags.Take(run.Points).Count(v => v == 1);
            progress?.Invoke(new EvaluationProgress(label, index, stages, done, total, done == 0 ? 0.0 : (double)robust / done));
        }
        Report();
        var batch = options.BatchSize;
        var (firstBatch, endBatch) = ShardBatches(state.N);
        for (int first = firstBatch * batch, b = firstBatch; first < run.Points && b < endBatch; first += batch, b++)
        {
            var count = Math.Min(batch, run.Points - first);
            if (Enumerable.Range(first, count).All(p => flags[p] != RobustFlags.NotDone))
                continue;
            cancellationToken.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            var before = run.Over is { } over ? state.Flags[over] : state.Flags[EvalPlan.CleanKey];
            bool[] robust;
            if (run.Spec is AutoAttackSpec)
            {
                robust = Enumerable.Range(first, count).Select(p => before[p] == 1).ToArray();
            }
            else
            {
                using var scope = NewDisposeScope();
                var (x, y) = Slice(images, labels, first, count);
                robust = run.Spec is CleanSpec
                    ? TensorOps.ToBools(Predict(model.Prompted, x).eq(y))
                    : AttackBatch(run, x, y, Enumerable.Range(first, count).Select(p => before[p] == 1).ToArray(),
                        DeriveSeed(options.Seed, run.SeedKey, b), stats);
            }
            for (var i = 0; i < count; i++)
                flags[first + i] = robust[i] ? (sbyte)1 : (sbyte)0;
            stats.Seconds += watch.Elapsed.TotalSeconds;
            Report();
            checkpoint();
        }
    }

    /// <summary>
    /// Attacks the points of one batch that are still robust (all others are not), validates the adversarial batch
    /// against the run's threat model and scores it on f_P.
    /// </summary>
    private bool[] AttackBatch(PlanRun run, Tensor x, Tensor y, bool[] candidates, long seed, EvaluationState.RunStats stats)
    {
        var robust = new bool[candidates.Length];
        var index = Enumerable.Range(0, candidates.Length).Where(i => candidates[i]).Select(i => (long)i).ToArray();
        if (index.Length == 0)
            return robust;
        var attack = run.Spec.Create(run.Threat, seed);
        var view = run.Source switch
        {
            // a transfer never queries f_P, not even in a black-box stage of a cascade
            AttackSource.Transfer => transferViews[run.Surrogate ?? throw new InvalidOperationException($"transfer run '{run.Key}' names no surrogate")],
            AttackSource.Agnostic when run.Spec.IsWhiteBox => model.Unprompted,
            _ => model.Prompted,
        };
        var selected = tensor(index, device: x.device);
        var xs = x.index_select(0, selected);
        var ys = y.index_select(0, selected);
        var adv = attack.Perturb(view, xs, ys);
        stats.MaxPerturbation = Math.Max(stats.MaxPerturbation, run.Threat.Validate(adv, xs));
        var survived = TensorOps.ToBools(Predict(model.Prompted, adv).eq(ys));
        for (var i = 0; i < index.Length; i++)
            robust[index[i]] = survived[i];
        stats.GradientEvaluations += attack.GradientEvaluations;
        stats.Queries += attack.Queries;
        return robust;
    }

    /// <summary>The batches this evaluator runs of <paramref name="n"/> points: its shard's, else all.</summary>
    private (int First, int End) ShardBatches(int n) => (options.Shard ?? ShardSpec.Whole).BatchRange(n, options.BatchSize);

    /// <summary>How many of the first <paramref name="m"/> of <paramref name="n"/> points fall in this evaluator's batches.</summary>
    private int PointsInShard(int m, int n)
    {
        var (firstBatch, endBatch) = ShardBatches(n);
        return Math.Max(0, Math.Min(m, endBatch * options.BatchSize) - firstBatch * options.BatchSize);
    }

    /// <summary>
    /// Input-gradient health of the CE loss on f_P at the first <paramref name="m"/> of <paramref name="n"/> points (those
    /// in this evaluator's batches), and whether f_P is randomised (on batch 0).
    /// </summary>
    private GradientStatistics MeasureGradients(Tensor images, Tensor labels, int m, int n)
    {
        int zero = 0, nonFinite = 0;
        var absSum = 0.0;
        long elements = 0;
        var randomized = false;
        var (firstBatch, endBatch) = ShardBatches(n);
        for (var first = firstBatch * options.BatchSize; first < Math.Min(m, endBatch * options.BatchSize); first += options.BatchSize)
        {
            var count = Math.Min(options.BatchSize, m - first);
            using var scope = NewDisposeScope();
            var (x, y) = Slice(images, labels, first, count);
            if (first == 0)
            {
                using var noGrad = no_grad();
                randomized = (model.Prompted.Forward(x) - model.Prompted.Forward(x)).abs().max().ToDouble() > 0;
            }
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
        return new GradientStatistics(PointsInShard(m, n), zero, nonFinite, elements == 0 ? 0.0 : absSum / elements) { RandomizedOutput = randomized };
    }

    private (Tensor X, Tensor Y) Slice(Tensor images, Tensor labels, int first, int count)
    {
        var device = model.parameters().First().device;
        return (images.narrow(0, first, count).to(ScalarType.Float32, device), labels.narrow(0, first, count).to(ScalarType.Int64, device));
    }

    private static Tensor Predict(ModelView view, Tensor x)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return view.Forward(x).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>A per-(run, batch) seed: stable across runs, processes and shards; adaptive and agnostic share it.</summary>
    public static long DeriveSeed(long seed, string key, int batch)
    {
        var h = 14695981039346656037UL;
        foreach (var ch in key)
        {
            h ^= ch;
            h *= 1099511628211UL;
        }
        return (long)(Data.DeterministicRandom.Mix(unchecked((ulong)seed) ^ h ^ (0x9E3779B97F4A7C15UL * (ulong)(batch + 1))) >> 1);
    }
}

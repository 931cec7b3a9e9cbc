using System.Diagnostics;
using AdaptSharp.Attacks;
using AdaptSharp.Cluster;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// Runs the runs of an <see cref="EvalPlan"/> on model views, batch by batch over fixed windows of
/// <paramref name="batchSize"/> points (this shard's batches only): every run attacks the points still robust in the run
/// it is over, generates on the view <paramref name="generating"/> resolves for it and scores on
/// <paramref name="scoring"/> (f_P); every adversarial batch is checked by the run's <see cref="ThreatModel"/> before it
/// counts. Batch b of a run gets the seed <see cref="RobustnessEvaluator.DeriveSeed"/>(<paramref name="seed"/>, run's seed key, b). Inputs are
/// moved to <paramref name="device"/> as float32 images and int64 labels.
/// </summary>
internal sealed class PlanExecutor(ModelView scoring, Func<PlanRun, ModelView> generating, Device device, int batchSize, long seed,
    ShardSpec? shard = null)
{
    /// <summary>
    /// Runs the batches of <paramref name="run"/> not done yet in <paramref name="state"/>, calling
    /// <paramref name="afterBatch"/> after each; cancellation is honoured between batches. <paramref name="broken"/>, when
    /// given, receives the indices of the points each batch broke and their adversarial images.
    /// </summary>
    public void Execute(PlanRun run, PlanState state, Tensor images, Tensor labels, Action afterBatch, CancellationToken cancellationToken,
        Action<Tensor, Tensor>? broken = null)
    {
        var flags = state.Flags[run.Key];
        var stats = state.Stats[run.Key];
        var (firstBatch, endBatch) = ShardBatches(state.N);
        for (int first = firstBatch * batchSize, b = firstBatch; first < run.Points && b < endBatch; first += batchSize, b++)
        {
            var count = Math.Min(batchSize, run.Points - first);
            if (Enumerable.Range(first, count).All(p => flags[p] != RobustFlags.NotDone))
                continue;
            cancellationToken.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            var before = state.Flags[run.Over ?? EvalPlan.CleanKey];
            var candidates = Enumerable.Range(first, count).Select(p => before[p] == 1).ToArray();
            bool[] robust;
            using (NewDisposeScope())
            {
                var (x, y) = Slice(images, labels, first, count);
                robust = run.Spec switch
                {
                    AutoAttackSpec => candidates,
                    CleanSpec => TensorOps.ToBools(Predict(scoring, x).eq(y)),
                    _ => AttackBatch(run, x, y, candidates, RobustnessEvaluator.DeriveSeed(seed, run.SeedKey, b), stats, first, broken),
                };
            }
            for (var i = 0; i < count; i++)
                flags[first + i] = robust[i] ? (sbyte)1 : (sbyte)0;
            stats.Seconds += watch.Elapsed.TotalSeconds;
            afterBatch();
        }
    }

    /// <summary>
    /// Attacks the points of one batch that are still robust (all others are not), validates the adversarial batch
    /// against the run's threat model and scores it on f_P.
    /// </summary>
    private bool[] AttackBatch(PlanRun run, Tensor x, Tensor y, bool[] candidates, long batchSeed, PlanState.RunStats stats, int first,
        Action<Tensor, Tensor>? broken)
    {
        var robust = new bool[candidates.Length];
        var index = Enumerable.Range(0, candidates.Length).Where(i => candidates[i]).Select(i => (long)i).ToArray();
        if (index.Length == 0)
            return robust;
        var attack = run.Spec.Create(run.Threat, batchSeed);
        var (gradientsBefore, queriesBefore) = (attack.GradientEvaluations, attack.Queries);
        var selected = tensor(index, device: x.device);
        var xs = x.index_select(0, selected);
        var ys = y.index_select(0, selected);
        var adv = attack.Perturb(generating(run), xs, ys);
        stats.MaxPerturbation = Math.Max(stats.MaxPerturbation, run.Threat.Validate(adv, xs));
        var survived = TensorOps.ToBools(Predict(scoring, adv).eq(ys));
        for (var i = 0; i < index.Length; i++)
            robust[index[i]] = survived[i];
        stats.GradientEvaluations += attack.GradientEvaluations - gradientsBefore;
        stats.Queries += attack.Queries - queriesBefore;
        var lost = Enumerable.Range(0, index.Length).Where(i => !survived[i]).Select(i => (long)i).ToArray();
        if (broken is not null && lost.Length > 0)
            broken(tensor(lost.Select(i => first + index[i]).ToArray()), adv.index_select(0, tensor(lost, device: adv.device)));
        return robust;
    }

    /// <summary>The batches this executor runs of <paramref name="n"/> points: its shard's, else all.</summary>
    public (int First, int End) ShardBatches(int n) => (shard ?? ShardSpec.Whole).BatchRange(n, batchSize);

    /// <summary>How many of the first <paramref name="m"/> of <paramref name="n"/> points fall in this executor's batches.</summary>
    public int PointsInShard(int m, int n)
    {
        var (firstBatch, endBatch) = ShardBatches(n);
        return Math.Max(0, Math.Min(m, endBatch * batchSize) - firstBatch * batchSize);
    }

    /// <summary>
    /// Input-gradient health of the CE loss on <paramref name="view"/> at the first <paramref name="m"/> of
    /// <paramref name="n"/> points (those in this executor's batches), and whether the view is randomised (on batch 0).
    /// </summary>
    public GradientStatistics MeasureGradients(ModelView view, Tensor images, Tensor labels, int m, int n)
    {
        int zero = 0, nonFinite = 0;
        var absSum = 0.0;
        long elements = 0;
        var randomized = false;
        var (firstBatch, endBatch) = ShardBatches(n);
        for (var first = firstBatch * batchSize; first < Math.Min(m, endBatch * batchSize); first += batchSize)
        {
            var count = Math.Min(batchSize, m - first);
            using var scope = NewDisposeScope();
            var (x, y) = Slice(images, labels, first, count);
            if (first == 0)
            {
                using var noGrad = no_grad();
                randomized = (view.Forward(x) - view.Forward(x)).abs().max().ToDouble() > 0;
            }
            var grad = view.LossAndInputGradient(x, logits => Losses.CrossEntropy(logits, y)).Gradient.flatten(1);
            var finite = isfinite(grad);
            nonFinite += (int)finite.all(1).logical_not().sum().item<long>();
            zero += (int)grad.abs().amax(1).eq(0).sum().item<long>();
            // per-row sums first: a whole-tensor sum is split across threads, so its bits would depend on the count
            absSum += where(finite, grad.abs(), zeros_like(grad)).sum([1]).to(ScalarType.Float64).sum().ToDouble();
            elements += grad.numel();
        }
        return new GradientStatistics(PointsInShard(m, n), zero, nonFinite, elements == 0 ? 0.0 : absSum / elements) { RandomizedOutput = randomized };
    }

    private (Tensor X, Tensor Y) Slice(Tensor images, Tensor labels, int first, int count) =>
        (images.narrow(0, first, count).to(ScalarType.Float32, device), labels.narrow(0, first, count).to(ScalarType.Int64, device));

    private static Tensor Predict(ModelView view, Tensor x)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return view.Forward(x).argmax(1).MoveToOuterDisposeScope();
    }
}

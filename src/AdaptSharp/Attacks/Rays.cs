using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// RayS (Chen &amp; Gu, KDD 2020): hard-label (decision-based) L-inf attack. It searches over ray
/// directions in {-1,+1}^D by flipping the signs of ever finer blocks of coordinates, and keeps, per point,
/// the direction whose decision boundary is closest (found by binary search along the ray). A point is
/// broken when the L-inf distance found is &lt;= eps; its returned image lies one binary-search tolerance
/// beyond the boundary along the ray (clipped to the ball). Only predicted labels are used.
/// </summary>
public sealed class Rays(ThreatModel threat, RaysOptions? options = null, long seed = 0, string? name = null)
    : Attack(name ?? "rays", threat, seed)
{
    public RaysOptions Options { get; } = threat.Norm != AttackNorm.LInf
        ? throw new NotSupportedException("RayS is an L-inf attack")
        : Checked(options ?? new(), o => o.QueryBudget >= 1, "RayS needs a positive query budget");

    /// <summary>L-inf distances found in the last call (infinity where no adversarial was found).</summary>
    public float[] LastDistances { get; private set; } = [];

    /// <summary>
    /// RayS's own verdict in the last call: broken where its L-inf distance is within eps (as the reference).
    /// The returned images are beyond the boundary along the ray, so scoring them agrees with this.
    /// </summary>
    public bool[] LastBroken { get; private set; } = [];

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var clean = images.detach();
        var n = clean.shape[0];
        var dim = clean[0].numel();
        var flatClean = clean.flatten(1);
        var signs = ones_like(flatClean);
        var best = full(new[] { n }, double.PositiveInfinity, dtype: ScalarType.Float64, device: clean.device);
        var bestPoint = flatClean.clone();
        var used = zeros(n, dtype: ScalarType.Int64, device: clean.device);
        var sqrtDim = Math.Sqrt(dim);

        // points already misclassified are at distance 0
        var wrong = Predict(model, clean).ne(labels);
        best.masked_fill_(wrong, 0.0);
        used.add_(1);

        var level = 0;
        var block = 0;
        while (true)
        {
            using var stepScope = NewDisposeScope();
            var active = used.lt(Options.QueryBudget).logical_and(wrong.logical_not());
            if (Options.EarlyStop)
                active = active.logical_and(LInfDistances(bestPoint, flatClean, best).gt(Threat.Eps));
            var idx = TensorOps.Indices(active);
            if (idx.shape[0] == 0)
                break;

            var blocks = 1L << level;
            var blockSize = (dim + blocks - 1) / blocks;
            var start = block * blockSize;
            var end = Math.Min(dim, (block + 1) * blockSize);
            var attempt = signs.index_select(0, idx);
            attempt[.., (int)start..(int)end] = attempt[.., (int)start..(int)end] * -1;
            Search(model, flatClean, clean.shape, labels, idx, attempt, signs, best, bestPoint, used, sqrtDim);

            block++;
            if (block == blocks || end == dim)
            {
                level++;
                block = 0;
            }
        }

        var distances = LInfDistances(bestPoint, flatClean, best);
        LastDistances = distances.to_type(ScalarType.Float32).cpu().data<float>().ToArray();
        var broken = distances.le(Threat.Eps);
        LastBroken = TensorOps.ToBools(broken);
        // The boundary lies within Tolerance below the found length: step that much further along the ray so
        // the returned point is adversarial by a margin, not by the rounding of the batch it was searched in.
        // Points at distance 0 (misclassified clean) stay clean; the projection keeps everything in the ball.
        var pushed = (flatClean + signs / sqrtDim * (best + Options.Tolerance).to_type(flatClean.dtype).unsqueeze(1)).clamp(0.0, 1.0);
        var moved = broken.logical_and(best.gt(0));
        var result = Threat.Project(TensorOps.WhereRows(moved, pushed, bestPoint).reshape(clean.shape), clean);
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor LInfDistances(Tensor bestPoint, Tensor flatClean, Tensor best) =>
        where(best.isinf(), best, (bestPoint - flatClean).abs().amax(1).to_type(ScalarType.Float64));

    /// <summary>Binary search along direction attempt/||attempt||_2 for the active points; keeps improvements.</summary>
    private void Search(ModelView model, Tensor flatClean, long[] shape, Tensor labels, Tensor idx, Tensor attempt,
        Tensor signs, Tensor best, Tensor bestPoint, Tensor used, double sqrtDim)
    {
        using var scope = NewDisposeScope();
        var x = flatClean.index_select(0, idx);
        var y = labels.index_select(0, idx);
        var unit = attempt / sqrtDim;
        var currentBest = best.index_select(0, idx);

        Tensor IsAdversarial(Tensor rows, Tensor distance)
        {
            var points = (x.index_select(0, rows) + unit.index_select(0, rows) * distance.to_type(x.dtype).unsqueeze(1)).clamp(0.0, 1.0);
            used.index_add_(0, idx.index_select(0, rows), ones_like(rows), 1);
            return Predict(model, points.reshape([rows.shape[0], .. shape[1..]])).ne(y.index_select(0, rows));
        }

        var all = arange(idx.shape[0], dtype: ScalarType.Int64, device: x.device);
        // first: is this direction at least as good as the current best distance?
        var probe = where(currentBest.isinf(), full_like(currentBest, 1e10), currentBest);
        var succeeds = IsAdversarial(all, probe);
        var rows = TensorOps.Indices(succeeds);
        if (rows.shape[0] == 0)
            return;
        var low = zeros(rows.shape[0], dtype: ScalarType.Float64, device: x.device);
        var high = minimum(currentBest.index_select(0, rows), full_like(low, sqrtDim));
        var searching = arange(rows.shape[0], dtype: ScalarType.Int64, device: x.device);
        while (searching.shape[0] > 0)
        {
            var lo = low.index_select(0, searching);
            var hi = high.index_select(0, searching);
            var mid = (lo + hi) / 2;
            var ok = IsAdversarial(rows.index_select(0, searching), mid);
            high.index_copy_(0, searching, where(ok, mid, hi));
            low.index_copy_(0, searching, where(ok, lo, mid));
            var gap = high.index_select(0, searching) - low.index_select(0, searching);
            searching = searching.index_select(0, TensorOps.Indices(gap.gt(Options.Tolerance)));
        }

        var improved = high.lt(currentBest.index_select(0, rows));
        var winners = rows.index_select(0, TensorOps.Indices(improved));
        if (winners.shape[0] == 0)
            return;
        var d = high.index_select(0, TensorOps.Indices(improved));
        var global = idx.index_select(0, winners);
        var points = (x.index_select(0, winners) + unit.index_select(0, winners) * d.to_type(x.dtype).unsqueeze(1)).clamp(0.0, 1.0);
        best.index_copy_(0, global, d);
        bestPoint.index_copy_(0, global, points);
        signs.index_copy_(0, global, attempt.index_select(0, winners));
    }
}

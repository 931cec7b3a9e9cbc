using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Attacks;

/// <summary>
/// Square Attack (Andriushchenko et al. 2020), score-based black box, as AutoAttack runs it.
/// L-inf: vertical-stripe initialisation (±eps per column and channel), then per query one random square
/// window (shared by the batch, side from the p schedule on the query count) set to ±2eps per channel,
/// projected, accepted when the margin loss falls (or the point becomes misclassified).
/// L2: a grid of signed "eta" bumps as initialisation; per query the mass of two windows is moved into
/// one, reshaped as a new signed bump, and the whole perturbation rescaled onto the eps-sphere.
/// Only logits are used.
/// The p schedule is indexed by the query count as AutoAttack runs Square (<c>resc_schedule=False</c>);
/// <see cref="RescaleSchedule"/> stretches it to the budget as the standalone reference does by default.
/// One deliberate difference: the window corner is drawn from [0, h-s] inclusive (AutoAttack's exclusive
/// bound never places a small window on the last row or column).
/// </summary>
public sealed class Square : Attack
{
    public Square(ThreatModel threat, SquareOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? "square", threat, seed)
    {
        var o = options ?? new SquareOptions();
        if (o.Queries < 1 || o.Restarts < 1 || !(o.PInit > 0 && o.PInit <= 1))
            throw new ArgumentException("Square needs queries >= 1, restarts >= 1 and 0 < p_init <= 1");
        QueryBudget = o.Queries;
        PInit = o.PInit;
        Restarts = o.Restarts;
        UseCrossEntropy = o.UseCrossEntropy;
        RescaleSchedule = o.RescaleSchedule;
    }

    public int QueryBudget { get; }

    public double PInit { get; }

    public int Restarts { get; }

    public bool UseCrossEntropy { get; }

    /// <summary>
    /// False (AutoAttack's setting): the p schedule's marks (10, 50, 200, ... 8000) are query counts.
    /// True: they are read on a 10,000-query scale, so the windows shrink on the same relative schedule
    /// whatever the budget (at 5,000 queries twice as fast as AutoAttack's Square).
    /// </summary>
    public bool RescaleSchedule { get; }

    /// <summary>
    /// Fraction of pixels changed at query <paramref name="iteration"/>: p_init halved at each mark passed;
    /// with <paramref name="rescale"/> the query count is first mapped to a 10,000-query budget.
    /// </summary>
    public static double PSelection(int iteration, int budget, double pInit, bool rescale)
    {
        var it = rescale ? (int)((double)iteration / budget * 10000) : iteration;
        var divisor = it switch
        {
            <= 10 => 1,
            <= 50 => 2,
            <= 200 => 4,
            <= 500 => 8,
            <= 1000 => 16,
            <= 2000 => 32,
            <= 4000 => 64,
            <= 6000 => 128,
            <= 8000 => 256,
            _ => 512,
        };
        return pInit / divisor;
    }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        if (images.dim() != 4)
            throw new ArgumentException("Square needs images shaped (N,C,H,W)");
        using var scope = NewDisposeScope();
        using var random = NewRandom();
        var clean = images.detach();
        var adv = clean.clone();
        var robust = Predict(model, clean).eq(labels);
        for (var restart = 0; restart < Restarts; restart++)
        {
            using var restartScope = NewDisposeScope();
            var idx = TensorOps.Indices(robust);
            if (idx.shape[0] == 0)
                break;
            var (xBest, margin) = Run(model, clean.index_select(0, idx), labels.index_select(0, idx), random);
            var fooled = margin.le(0);
            adv.index_copy_(0, idx, restart == 0 ? xBest : TensorOps.WhereRows(fooled, xBest, adv.index_select(0, idx)));
            robust.index_fill_(0, idx.index_select(0, TensorOps.Indices(fooled)), false);
        }
        return adv.MoveToOuterDisposeScope();
    }

    private (Tensor Margin, Tensor Loss) MarginAndLoss(ModelView model, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var logits = Logits(model, x);
        var margin = Losses.Margin(logits, y);
        var loss = UseCrossEntropy ? -F.cross_entropy(logits, y, reduction: nn.Reduction.None) : margin;
        return (margin.MoveToOuterDisposeScope(), loss.MoveToOuterDisposeScope());
    }

    private (Tensor XBest, Tensor Margin) Run(ModelView model, Tensor x, Tensor y, AttackRandom random) =>
        Threat.Norm == AttackNorm.LInf ? RunLInf(model, x, y, random) : RunL2(model, x, y, random);

    private (Tensor XBest, Tensor Margin) RunLInf(ModelView model, Tensor x, Tensor y, AttackRandom random)
    {
        using var scope = NewDisposeScope();
        var eps = Threat.Eps;
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var features = c * h * w;
        var xBest = (x + random.Signs(new[] { n, c, 1, w }, x) * eps).clamp(0.0, 1.0);
        var (marginMin, lossMin) = MarginAndLoss(model, xBest, y);

        for (var i = 0; i < QueryBudget; i++)
        {
            using var stepScope = NewDisposeScope();
            var active = TensorOps.Indices(marginMin.gt(0));
            if (active.shape[0] == 0)
                break;
            var xCurr = x.index_select(0, active);
            var xBestCurr = xBest.index_select(0, active);
            var yCurr = y.index_select(0, active);
            var marginCurr = marginMin.index_select(0, active);
            var lossCurr = lossMin.index_select(0, active);

            var p = PSelection(i, QueryBudget, PInit, RescaleSchedule);
            var s = (int)Math.Max(Math.Round(Math.Sqrt(p * features / c)), 1);
            s = (int)Math.Min(s, Math.Min(h, w));
            // AutoAttack draws the corner from [0, h-s) and never moves the last row/column alone; include it
            var vh = random.NextInt(0, (int)h - s + 1);
            var vw = random.NextInt(0, (int)w - s + 1);
            var window = zeros(new[] { c, h, w }, dtype: x.dtype, device: x.device);
            window[.., vh..(vh + s), vw..(vw + s)] = random.Signs(new[] { c, 1, 1 }, x) * (2.0 * eps);

            var xNew = Threat.Project(xBestCurr + window, xCurr);
            var (margin, loss) = MarginAndLoss(model, xNew, yCurr);
            var improved = loss.lt(lossCurr);
            lossMin.index_copy_(0, active, where(improved, loss, lossCurr));
            var accept = improved.logical_or(margin.le(0));
            marginMin.index_copy_(0, active, where(accept, margin, marginCurr));
            xBest.index_copy_(0, active, TensorOps.WhereRows(accept, xNew, xBestCurr));
        }
        return (xBest.MoveToOuterDisposeScope(), marginMin.MoveToOuterDisposeScope());
    }

    private (Tensor XBest, Tensor Margin) RunL2(ModelView model, Tensor x, Tensor y, AttackRandom random)
    {
        using var scope = NewDisposeScope();
        var eps = Threat.Eps;
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var features = c * h * w;

        // initialisation: a grid of s x s bumps (s = h/5) with random signs per image and channel
        var init = zeros_like(x);
        var s0 = (int)Math.Max(h / 5, 1);
        var offset = (int)Math.Max((h - s0 * 5) / 2, 0);
        for (var vh = offset; vh + s0 <= h; vh += s0)
        {
            for (var vw = offset; vw + s0 <= w; vw += s0)
            {
                var bump = Eta(s0, random, x).reshape(1, 1, s0, s0) * random.Signs(new[] { n, c, 1, 1 }, x);
                init[.., .., vh..(vh + s0), vw..(vw + s0)] = init[.., .., vh..(vh + s0), vw..(vw + s0)] + bump;
            }
        }
        var xBest = (x + TensorOps.NormalizeL2(init) * eps).clamp(0.0, 1.0);
        var (marginMin, lossMin) = MarginAndLoss(model, xBest, y);

        for (var i = 0; i < QueryBudget; i++)
        {
            using var stepScope = NewDisposeScope();
            var active = TensorOps.Indices(marginMin.gt(0));
            if (active.shape[0] == 0)
                break;
            var xCurr = x.index_select(0, active);
            var xBestCurr = xBest.index_select(0, active);
            var yCurr = y.index_select(0, active);
            var marginCurr = marginMin.index_select(0, active);
            var lossCurr = lossMin.index_select(0, active);
            var m = active.shape[0];

            var delta = xBestCurr - xCurr;
            var p = PSelection(i, QueryBudget, PInit, RescaleSchedule);
            var s = (int)Math.Max(Math.Round(Math.Sqrt(p * features / c)), 3);
            if (s % 2 == 0)
                s++;
            s = (int)Math.Min(s, Math.Min(h, w));
            var vh = random.NextInt(0, (int)h - s + 1);
            var vw = random.NextInt(0, (int)w - s + 1);
            var vh2 = random.NextInt(0, (int)h - s + 1);
            var vw2 = random.NextInt(0, (int)w - s + 1);
            var bump = Eta(s, random, x).reshape(1, 1, s, s) * random.Signs(new[] { m, c, 1, 1 }, x);
            var updated = MoveL2Mass(delta, bump, (vh, vw), (vh2, vw2), eps);
            var xNew = (xCurr + TensorOps.NormalizeL2(updated) * eps).clamp(0.0, 1.0);

            var (margin, loss) = MarginAndLoss(model, xNew, yCurr);
            var improved = loss.lt(lossCurr);
            lossMin.index_copy_(0, active, where(improved, loss, lossCurr));
            var accept = improved.logical_or(margin.le(0));
            marginMin.index_copy_(0, active, where(accept, margin, marginCurr));
            xBest.index_copy_(0, active, TensorOps.WhereRows(accept, xNew, xBestCurr));
        }
        return (xBest.MoveToOuterDisposeScope(), marginMin.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// One L2 Square proposal: the content of the s x s windows at <paramref name="target"/> and
    /// <paramref name="source"/> is removed and the target window gets <paramref name="bump"/> (m,c,s,s)
    /// plus its old direction, scaled per channel to sqrt((eps^2 - ||delta||^2)^+ / c + ||delta_c on both
    /// windows||^2): each channel keeps its own windows' mass plus an equal share of the unused budget, so a
    /// proposal from a perturbation of norm eps has norm eps again (as AutoAttack's Square).
    /// </summary>
    internal static Tensor MoveL2Mass(Tensor delta, Tensor bump, (int H, int W) target, (int H, int W) source, double eps)
    {
        using var scope = NewDisposeScope();
        var c = delta.shape[1];
        var s = (int)bump.shape[^1];
        var (vh, vw) = target;
        var (vh2, vw2) = source;
        var window = delta[.., .., vh..(vh + s), vw..(vw + s)];
        var windowNorm = window.square().sum(new long[] { -2, -1 }, keepdim: true).sqrt();
        var mask = zeros_like(delta);
        mask[.., .., vh..(vh + s), vw..(vw + s)] = 1.0;
        mask[.., .., vh2..(vh2 + s), vw2..(vw2 + s)] = 1.0;
        var imageNorm = TensorOps.PerSample(TensorOps.L2Norms(delta), delta);
        var windowsNormPerChannel = (delta * mask).square().sum(new long[] { -2, -1 }, keepdim: true).sqrt();

        var fresh = bump + window / (windowNorm + 1e-12);
        var budget = ((eps * eps - imageNorm.square()).clamp_min(0.0) / c + windowsNormPerChannel.square()).sqrt();
        fresh = fresh / (fresh.square().sum(new long[] { -2, -1 }, keepdim: true).sqrt() + 1e-12) * budget;
        var updated = delta.clone();
        updated[.., .., vh2..(vh2 + s), vw2..(vw2 + s)] = 0.0;
        updated[.., .., vh..(vh + s), vw..(vw + s)] = fresh;
        return updated.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The L2 Square bump: the upper half of an s x s window holds nested rectangles weighted 1/(k+1)^2
    /// (positive), the lower half the same shape negated; unit L2 norm; transposed with probability 1/2.
    /// </summary>
    private static Tensor Eta(int s, AttackRandom random, Tensor like)
    {
        var values = new float[s * s];
        var top = Rectangles(s / 2, s);
        var bottom = Rectangles(s - s / 2, s);
        for (var r = 0; r < s / 2; r++)
            for (var col = 0; col < s; col++)
                values[r * s + col] = (float)top[r, col];
        for (var r = 0; r < s - s / 2; r++)
            for (var col = 0; col < s; col++)
                values[(r + s / 2) * s + col] = -(float)bottom[r, col];
        var norm = Math.Sqrt(values.Sum(v => (double)v * v));
        if (norm > 0)
            for (var k = 0; k < values.Length; k++)
                values[k] = (float)(values[k] / norm);
        var transpose = random.NextInt(0, 2) == 1;
        var bump = tensor(values, new long[] { s, s });
        if (transpose)
            bump = bump.t().contiguous();
        return bump.to(like.dtype, like.device);
    }

    /// <summary>Nested rectangles centred in an rows x cols block, the k-th weighted 1/(k+1)^2, unit L2 norm.</summary>
    private static double[,] Rectangles(int rows, int cols)
    {
        var delta = new double[rows, cols];
        if (rows == 0 || cols == 0)
            return delta;
        var centreRow = rows / 2 + 1;
        var centreCol = cols / 2 + 1;
        var r0 = centreRow - 1;
        var c0 = centreCol - 1;
        for (var k = 0; k < Math.Max(centreRow, centreCol); k++)
        {
            for (var r = Math.Max(r0, 0); r < Math.Min(r0 + 2 * k + 1, rows); r++)
                for (var col = Math.Max(c0, 0); col < Math.Min(c0 + 2 * k + 1, cols); col++)
                    delta[r, col] += 1.0 / ((k + 1) * (k + 1));
            r0--;
            c0--;
        }
        var norm = 0.0;
        foreach (var v in delta)
            norm += v * v;
        norm = Math.Sqrt(norm);
        for (var r = 0; r < rows; r++)
            for (var col = 0; col < cols; col++)
                delta[r, col] /= norm;
        return delta;
    }
}

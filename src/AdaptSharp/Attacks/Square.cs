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
/// <see cref="SquareOptions.RescaleSchedule"/> stretches it to the budget as the standalone reference does by default.
/// One deliberate difference: the window corner is drawn from [0, h-s] inclusive (AutoAttack's exclusive
/// bound never places a small window on the last row or column).
/// </summary>
public sealed class Square(ThreatModel threat, SquareOptions? options = null, long seed = 0, string? name = null)
    : Attack(name ?? "square", threat, seed)
{
    public SquareOptions Options { get; } = Checked(options ?? new(), o => o.Queries >= 1 && o.Restarts >= 1 && o.PInit > 0 && o.PInit <= 1,
        "Square needs queries >= 1, restarts >= 1 and 0 < p_init <= 1");

    /// <summary>
    /// Fraction of pixels changed at query <paramref name="iteration"/>: p_init halved at each mark passed;
    /// with <paramref name="rescale"/> the query count is first mapped to a 10,000-query budget.
    /// </summary>
    public static double PSelection(int iteration, int budget, double pInit, bool rescale)
    {
        var it = rescale ? (int)((double)iteration / budget * 10000) : iteration;
        return pInit / (1 << PHalvingMarks.Count(mark => it > mark));
    }

    private static readonly int[] PHalvingMarks = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        if (images.dim() != 4)
            throw new ArgumentException("Square needs images shaped (N,C,H,W)");
        using var random = NewRandom();
        return OnStillRobust(model, images, labels, Options.Restarts, 0, p =>
        {
            var (xBest, margin) = Run(model, p.X, p.Y, random);
            var fooled = margin.le(0);
            return (fooled, p.First ? xBest : TensorOps.WhereRows(fooled, xBest, p.Previous));
        });
    }

    private (Tensor Margin, Tensor Loss) MarginAndLoss(ModelView model, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var logits = Logits(model, x);
        var margin = Losses.Margin(logits, y);
        var loss = Options.UseCrossEntropy ? -F.cross_entropy(logits, y, reduction: nn.Reduction.None) : margin;
        return (margin.MoveToOuterDisposeScope(), loss.MoveToOuterDisposeScope());
    }

    /// <summary>One restart on (x, y): the best images found and their margins (&lt;= 0: broken).</summary>
    private (Tensor XBest, Tensor Margin) Run(ModelView model, Tensor x, Tensor y, AttackRandom random)
    {
        using var scope = NewDisposeScope();
        var (n, c, w) = (x.shape[0], x.shape[1], x.shape[3]);
        var linf = Threat.Norm == AttackNorm.LInf;
        var xBest = linf
            ? (x + random.Signs(new[] { n, c, 1, w }, x) * Threat.Eps).clamp(0.0, 1.0)
            : (x + TensorOps.NormalizeL2(L2Start(x, random)) * Threat.Eps).clamp(0.0, 1.0);
        var (marginMin, lossMin) = MarginAndLoss(model, xBest, y);

        for (var i = 0; i < Options.Queries; i++)
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

            var p = PSelection(i, Options.Queries, Options.PInit, Options.RescaleSchedule);
            var xNew = linf ? ProposeLInf(xCurr, xBestCurr, p, random) : ProposeL2(xCurr, xBestCurr, p, random);
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
    /// L-inf proposal: one random square window (shared by the batch, side from the p schedule) of xBest set to ±2eps
    /// per channel, projected.
    /// </summary>
    private Tensor ProposeLInf(Tensor x, Tensor xBest, double p, AttackRandom random)
    {
        var (c, h, w) = (x.shape[1], x.shape[2], x.shape[3]);
        var s = (int)Math.Max(Math.Round(Math.Sqrt(p * (c * h * w) / c)), 1);
        s = (int)Math.Min(s, Math.Min(h, w));
        // AutoAttack draws the corner from [0, h-s) and never moves the last row/column alone; include it
        var vh = random.NextInt(0, (int)h - s + 1);
        var vw = random.NextInt(0, (int)w - s + 1);
        var window = zeros(new[] { c, h, w }, dtype: x.dtype, device: x.device);
        window[.., vh..(vh + s), vw..(vw + s)] = random.Signs(new[] { c, 1, 1 }, x) * (2.0 * Threat.Eps);
        return Threat.Project(xBest + window, x);
    }

    /// <summary>L2 start: a grid of s x s bumps (s = h/5) with random signs per image and channel.</summary>
    private static Tensor L2Start(Tensor x, AttackRandom random)
    {
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
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
        return init;
    }

    /// <summary>L2 proposal: the mass of two random windows moved into one as a new signed bump, rescaled onto the eps-sphere.</summary>
    private Tensor ProposeL2(Tensor x, Tensor xBest, double p, AttackRandom random)
    {
        var (m, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var delta = xBest - x;
        var s = (int)Math.Max(Math.Round(Math.Sqrt(p * (c * h * w) / c)), 3);
        if (s % 2 == 0)
            s++;
        s = (int)Math.Min(s, Math.Min(h, w));
        var vh = random.NextInt(0, (int)h - s + 1);
        var vw = random.NextInt(0, (int)w - s + 1);
        var vh2 = random.NextInt(0, (int)h - s + 1);
        var vw2 = random.NextInt(0, (int)w - s + 1);
        var bump = Eta(s, random, x).reshape(1, 1, s, s) * random.Signs(new[] { m, c, 1, 1 }, x);
        var updated = MoveL2Mass(delta, bump, (vh, vw), (vh2, vw2), Threat.Eps);
        return (x + TensorOps.NormalizeL2(updated) * Threat.Eps).clamp(0.0, 1.0);
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
        for (var r = 0; r < s; r++)
            for (var col = 0; col < s; col++)
                values[r * s + col] = r < s / 2 ? (float)top[r, col] : -(float)bottom[r - s / 2, col];
        var norm = Math.Sqrt(values.Sum(v => (double)v * v));
        if (norm > 0)
            for (var k = 0; k < values.Length; k++)
                values[k] = (float)(values[k] / norm);
        var bump = tensor(values, new long[] { s, s });
        if (random.NextInt(0, 2) == 1)
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
        var norm = Math.Sqrt(delta.Cast<double>().Sum(v => v * v));
        for (var r = 0; r < rows; r++)
            for (var col = 0; col < cols; col++)
                delta[r, col] /= norm;
        return delta;
    }
}

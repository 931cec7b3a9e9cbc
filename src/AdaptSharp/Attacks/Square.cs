using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Attacks;

/// <summary>
/// Square Attack (Andriushchenko et al. 2020), score-based black box, L-inf, as AutoAttack runs it:
/// vertical-stripe initialisation (±eps per column and channel), then per query one random square window
/// (shared by the batch, side from the p schedule on the query count) set to ±2eps per channel, projected,
/// accepted when the margin loss falls (or the point becomes misclassified). Only logits are used.
/// One deliberate difference: the window corner is drawn from [0, h-s] inclusive (AutoAttack's exclusive
/// bound never places a small window on the last row or column).
/// </summary>
public sealed class Square : Attack
{
    public Square(ThreatModel threat, int queries = 5000, double pInit = 0.8, int restarts = 1, long seed = 0,
        bool useCrossEntropy = false, string name = "square")
        : base(name, threat, seed)
    {
        if (threat.Norm != AttackNorm.LInf)
            throw new NotSupportedException("Square is implemented for the L-inf threat model only");
        if (queries < 1 || restarts < 1 || !(pInit > 0 && pInit <= 1))
            throw new ArgumentException("Square needs queries >= 1, restarts >= 1 and 0 < p_init <= 1");
        QueryBudget = queries;
        PInit = pInit;
        Restarts = restarts;
        UseCrossEntropy = useCrossEntropy;
    }

    public int QueryBudget { get; }

    public double PInit { get; }

    public int Restarts { get; }

    public bool UseCrossEntropy { get; }

    /// <summary>Fraction of pixels changed at query <paramref name="iteration"/> (schedule rescaled to a 10,000-query budget).</summary>
    public static double PSelection(int iteration, int budget, double pInit)
    {
        var it = (int)((double)iteration / budget * 10000);
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
        using var random = new AttackRandom(Seed);
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

    private (Tensor XBest, Tensor Margin) Run(ModelView model, Tensor x, Tensor y, AttackRandom random)
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

            var p = PSelection(i, QueryBudget, PInit);
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
}

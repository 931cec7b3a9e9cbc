using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// One FAB run, L-inf or L2 (Croce &amp; Hein 2020, "Minimally distorted adversarial examples with a fast
/// adaptive boundary attack"), with AutoAttack's constants: linearise the decision boundary, project both
/// the iterate and the clean point onto it, take a convex combination biased towards the clean point
/// (alpha &lt;= alpha_max), extrapolate by eta; after a success, step back towards the clean point by beta.
/// Returns the smallest adversarial found per point (the clean point where none).
/// </summary>
internal static class FabCore
{
    public const double AlphaMax = 0.1;
    public const double Eta = 1.05;
    public const double Beta = 0.9;

    /// <summary>Checks the settings of FAB (or FAB-T when <paramref name="targeted"/>) and fills in the defaults.</summary>
    public static FabOptions Validate(FabOptions? options, bool targeted)
    {
        var o = options ?? new FabOptions();
        if ((targeted && o.TargetClasses < 1) || o.Iterations < 1 || o.Restarts < 1)
            throw new ArgumentException(targeted ? "FAB-T needs at least one target class, iteration and restart" : "FAB needs at least one iteration and restart");
        return o;
    }

    /// <summary>One pass of FAB on a pass's points: broken where the smallest adversarial found is within eps.</summary>
    public static (Tensor Broken, Tensor Rows) Pass(ThreatModel threat, int iterations, AttackPass p, AttackRandom random,
        Func<Tensor, (Tensor Df, Tensor Dg)> boundary, Func<Tensor, Tensor> predict)
    {
        var (found, distance) = Run(threat.Norm, p.X, p.Y, iterations, threat.Eps, p.Restart > 0, random, boundary, predict);
        var broken = distance.le(threat.Eps);
        return (broken, TensorOps.WhereRows(broken, threat.Project(found, p.X), p.Previous));
    }

    /// <param name="boundary">(x) -> (df (B,M), dg (B,M,D)) differences of logits to the true class and their input gradients.</param>
    public static (Tensor Adversarial, Tensor Distance) Run(AttackNorm norm, Tensor clean, Tensor labels, int iterations, double eps,
        bool randomStart, AttackRandom random, Func<Tensor, (Tensor Df, Tensor Dg)> boundary, Func<Tensor, Tensor> predict)
    {
        using var scope = NewDisposeScope();
        var n = clean.shape[0];
        var flatClean = clean.flatten(1);
        var adv = clean.clone();
        var best = full(new[] { n }, 1e10, dtype: ScalarType.Float64, device: clean.device);
        Tensor x1;
        if (randomStart)
        {
            var t = norm == AttackNorm.LInf ? random.Uniform(clean, -1.0, 1.0) : random.Normal(clean);
            x1 = (clean + t * (0.5 * eps / TensorOps.PerSample(TensorOps.Norms(t, norm), t))).clamp(0.0, 1.0);
        }
        else
        {
            x1 = clean.clone();
        }

        for (var i = 0; i < iterations; i++)
        {
            using var stepScope = NewDisposeScope();
            var (df, dg) = boundary(x1);
            // distance to each linearised boundary: |f| / ||grad||_dual (L1 for L-inf, L2 for L2)
            var dual = norm == AttackNorm.LInf ? dg.abs().sum(2) : dg.square().sum(2).sqrt();
            var dist = df.abs() / (dual + 1e-12);
            var nearest = dist.argmin(1);
            var w = dg.gather(1, nearest.view(-1, 1, 1).expand(-1, 1, dg.shape[2])).squeeze(1);
            var f = df.gather(1, nearest.unsqueeze(1)).squeeze(1);
            var flatX1 = x1.flatten(1);
            var b = -f + (w * flatX1).sum(1);
            var d3 = HyperplaneProjection.Project(cat(new[] { flatX1, flatClean }, 0), cat(new[] { w, w }, 0), cat(new[] { b, b }, 0), norm);
            var d1 = d3.slice(0, 0, n, 1).reshape(clean.shape);
            var d2 = d3.slice(0, n, 2 * n, 1).reshape(clean.shape);
            var a0 = TensorOps.Norms(d3, norm).clamp_min(1e-8);
            var a1 = a0.slice(0, 0, n, 1);
            var a2 = a0.slice(0, n, 2 * n, 1);
            var alpha = TensorOps.PerSample((a1 / (a1 + a2)).clamp(0.0, AlphaMax), clean);
            var next = ((x1 + d1 * Eta) * (1 - alpha) + (clean + d2 * Eta) * alpha).clamp(0.0, 1.0);

            var isAdv = predict(next).ne(labels);
            var size = TensorOps.Norms(next - clean, norm).to_type(ScalarType.Float64);
            var better = isAdv.logical_and(size.lt(best));
            adv.copy_(TensorOps.WhereRows(better, next, adv));
            best.copy_(where(better, size, best));
            next = TensorOps.WhereRows(isAdv, clean + (next - clean) * Beta, next);
            next.MoveToOuterDisposeScope();
            x1.Dispose();
            x1 = next;
        }
        return (adv.MoveToOuterDisposeScope(), best.MoveToOuterDisposeScope());
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// One APGD run (Croce &amp; Hein 2020, Alg. 1 as in AutoAttack), shared by <see cref="Apgd"/> and
/// <see cref="ApgdTargeted"/>. Success is always misclassification of the true label.
/// </summary>
internal static class ApgdCore
{
    internal sealed record RunResult(Tensor BestAdversarial, Tensor Fooled, Tensor BestLoss, Tensor HighestLossPoint);

    /// <param name="lossAndGrad">(x) -> (per-sample loss, input gradient averaged over EOT, logits).</param>
    public static RunResult Run(ThreatModel threat, Tensor clean, Tensor labels, int iterations, double momentum,
        double rho, AttackRandom random, Func<Tensor, (Tensor Loss, Tensor Grad, Tensor Logits)> lossAndGrad)
    {
        using var scope = NewDisposeScope();
        var (first, decrease, minimum) = ApgdSchedule.Intervals(iterations);
        var eps = threat.Eps;

        Tensor x;
        using (var s = NewDisposeScope())
        {
            var linf = threat.Norm == AttackNorm.LInf;
            var t = linf ? random.Uniform(clean, -1.0, 1.0) : random.Normal(clean);
            var start = linf ? clean + t * (eps / TensorOps.PerSample(TensorOps.LInfNorms(t), t)) : clean + TensorOps.NormalizeL2(t) * eps;
            x = start.clamp(0.0, 1.0).MoveToOuterDisposeScope();
        }

        var (loss, grad, logits) = lossAndGrad(x);
        var notFooled = logits.argmax(1).eq(labels);
        var bestAdv = x.clone();
        var xBest = x.clone();
        var gradBest = grad.clone();
        var lossBest = loss.clone();
        var prevLoss = loss.clone();
        // initial step 2 eps for L-inf and L2 alike (autopgd_base.py: alpha = 2 for both norms)
        var step = full(new[] { clean.shape[0] }, 2.0 * eps, dtype: clean.dtype, device: clean.device);
        var xOld = x.clone();
        var increases = zeros(clean.shape[0], dtype: ScalarType.Int32, device: clean.device);
        var lossBestLastCheck = lossBest.clone();
        var halvedLastCheck = ones(clean.shape[0], dtype: ScalarType.Bool, device: clean.device);
        var interval = first;
        var sinceCheck = 0;

        for (var i = 0; i < iterations; i++)
        {
            using var stepScope = NewDisposeScope();
            var a = i > 0 ? momentum : 1.0;
            var previous = x - xOld;
            var z = threat.Project(x + TensorOps.AscentDirection(grad, threat.Norm) * TensorOps.PerSample(step, x), clean);
            var next = threat.Project(x + (z - x) * a + previous * (1.0 - a), clean);
            xOld.Dispose();
            xOld = x;
            x = next.MoveToOuterDisposeScope();

            var (l, g, lg) = lossAndGrad(x);
            TensorOps.Swap(ref grad, g);
            var pred = lg.argmax(1).eq(labels);
            TensorOps.Swap(ref bestAdv, TensorOps.WhereRows(pred.logical_not(), x, bestAdv));
            TensorOps.Swap(ref notFooled, notFooled.logical_and(pred));

            TensorOps.Swap(ref increases, increases + l.gt(prevLoss).to_type(ScalarType.Int32));
            var improved = l.gt(lossBest);
            TensorOps.Swap(ref xBest, TensorOps.WhereRows(improved, x, xBest));
            TensorOps.Swap(ref gradBest, TensorOps.WhereRows(improved, grad, gradBest));
            TensorOps.Swap(ref lossBest, where(improved, l, lossBest));
            TensorOps.Swap(ref prevLoss, l);

            sinceCheck++;
            if (sinceCheck == interval)
            {
                var oscillating = increases.to_type(ScalarType.Float64).le(interval * rho);
                var stalled = halvedLastCheck.logical_not().logical_and(lossBestLastCheck.ge(lossBest));
                var halve = oscillating.logical_or(stalled);
                TensorOps.Swap(ref halvedLastCheck, halve);
                TensorOps.Swap(ref lossBestLastCheck, lossBest.clone());
                TensorOps.Swap(ref step, where(halve, step * 0.5, step));
                TensorOps.Swap(ref x, TensorOps.WhereRows(halve, xBest, x));
                TensorOps.Swap(ref grad, TensorOps.WhereRows(halve, gradBest, grad));
                TensorOps.Swap(ref increases, zeros_like(increases));
                interval = Math.Max(interval - decrease, minimum);
                sinceCheck = 0;
            }
        }

        return new RunResult(bestAdv.MoveToOuterDisposeScope(), notFooled.logical_not().MoveToOuterDisposeScope(),
            lossBest.MoveToOuterDisposeScope(), xBest.MoveToOuterDisposeScope());
    }
}

using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Auto-PGD (Croce &amp; Hein 2020, Alg. 1 as in AutoAttack). Untargeted (APGD-CE / APGD-DLR) it maximises
/// <see cref="ApgdOptions.Loss"/>; with <see cref="ApgdOptions.TargetClasses"/> n &gt; 0 it is APGD-T: the targeted DLR
/// loss (at least 4 classes) against each of the 2nd..(n+1)-th highest clean logits in turn (n = 9 in AutoAttack standard).
/// Every restart and target run starts from the clean image and attacks only the points still robust; success is any
/// misclassification; a fooled point returns the iterate that fooled, any other point its highest-loss iterate.
/// EOT: the gradient is averaged over <see cref="ApgdOptions.EotIterations"/> forwards.
/// </summary>
public sealed class Apgd(ThreatModel threat, ApgdOptions? options = null, long seed = 0, string? name = null)
    : Attack(name ?? DefaultName(options ?? new ApgdOptions()), threat, seed)
{
    public ApgdOptions Options { get; } = Checked(options ?? new(), o => o.Iterations >= 1 && o.Restarts >= 1 && o.EotIterations >= 1 && o.TargetClasses >= 0,
        "APGD needs at least one iteration, restart and EOT sample, and no negative target count");

    private static string DefaultName(ApgdOptions o) => o.TargetClasses > 0 ? "apgd-t" : o.Loss is null ? "apgd-ce" : "apgd";

    /// <summary>
    /// APGD's checkpoint schedule for a budget of n iterations (Croce &amp; Hein 2020, as AutoAttack runs it): (first interval,
    /// decrease per checkpoint, minimum interval), the first checkpoint after 22% of the iterations, then intervals shrinking
    /// by 3% of the budget down to a floor of 6%.
    /// </summary>
    internal static (int First, int Decrease, int Minimum) Intervals(int iterations) =>
        (Math.Max((int)(0.22 * iterations), 1), Math.Max((int)(0.03 * iterations), 1), Math.Max((int)(0.06 * iterations), 1));

    /// <summary>
    /// The iteration counts (1-based: "after this many iterations") at which a checkpoint is evaluated.
    /// For 100 iterations: 22, 41, 57, 70, 80, 87, 93, 99.
    /// </summary>
    internal static int[] Checkpoints(int iterations)
    {
        var (first, decrease, minimum) = Intervals(iterations);
        var result = new List<int>();
        var interval = first;
        var at = interval;
        while (at <= iterations)
        {
            result.Add(at);
            interval = Math.Max(interval - decrease, minimum);
            at += interval;
        }
        return result.ToArray();
    }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var random = NewRandom();
        return OnStillRobust(model, images, labels, Options.Restarts, Options.TargetClasses, p =>
        {
            Func<Tensor, Tensor, Tensor> loss = Options.TargetClasses > 0 ? (z, y) => Losses.TargetedDlr(z, y, p.Targets!) : Options.Loss ?? Losses.CrossEntropy;
            var (fooled, bestAdv, highestLossPoint) = Run(model, p.X, p.Y, random, loss);
            return (fooled, TensorOps.WhereRows(fooled, bestAdv, p.First ? highestLossPoint : p.Previous));
        });
    }

    /// <summary>One run on a pass's points: which it fooled, the iterate that fooled them and the highest-loss iterate.</summary>
    private (Tensor Fooled, Tensor BestAdversarial, Tensor HighestLossPoint) Run(ModelView model, Tensor clean, Tensor labels,
        AttackRandom random, Func<Tensor, Tensor, Tensor> lossFunction)
    {
        using var scope = NewDisposeScope();
        var checkpoints = Checkpoints(Options.Iterations);
        var eps = Threat.Eps;

        var linf = Threat.Norm == AttackNorm.LInf;
        var t = linf ? random.Uniform(clean, -1.0, 1.0) : random.Normal(clean);
        var x = (linf ? clean + t * (eps / TensorOps.PerSample(TensorOps.LInfNorms(t), t)) : clean + TensorOps.NormalizeL2(t) * eps).clamp(0.0, 1.0);

        var (loss, grad, logits) = EotLossAndGradient(model, x, labels, lossFunction);
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
        var lastCheck = 0;

        for (var i = 0; i < Options.Iterations; i++)
        {
            using var stepScope = NewDisposeScope();
            var a = i > 0 ? Options.Momentum : 1.0;
            var previous = x - xOld;
            var z = Threat.Project(x + TensorOps.AscentDirection(grad, Threat.Norm) * TensorOps.PerSample(step, x), clean);
            var next = Threat.Project(x + (z - x) * a + previous * (1.0 - a), clean);
            xOld.Dispose();
            xOld = x;
            x = next.MoveToOuterDisposeScope();

            var (l, g, lg) = EotLossAndGradient(model, x, labels, lossFunction);
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

            if (Array.IndexOf(checkpoints, i + 1) >= 0)
            {
                var oscillating = increases.to_type(ScalarType.Float64).le((i + 1 - lastCheck) * Options.Rho);
                var stalled = halvedLastCheck.logical_not().logical_and(lossBestLastCheck.ge(lossBest));
                var halve = oscillating.logical_or(stalled);
                TensorOps.Swap(ref halvedLastCheck, halve);
                TensorOps.Swap(ref lossBestLastCheck, lossBest.clone());
                TensorOps.Swap(ref step, where(halve, step * 0.5, step));
                TensorOps.Swap(ref x, TensorOps.WhereRows(halve, xBest, x));
                TensorOps.Swap(ref grad, TensorOps.WhereRows(halve, gradBest, grad));
                TensorOps.Swap(ref increases, zeros_like(increases));
                lastCheck = i + 1;
            }
        }
        return (notFooled.logical_not().MoveToOuterDisposeScope(), bestAdv.MoveToOuterDisposeScope(), xBest.MoveToOuterDisposeScope());
    }

    /// <summary>Loss and logits at <paramref name="x"/>, with the input gradient averaged over the EOT samples.</summary>
    private (Tensor Loss, Tensor Grad, Tensor Logits) EotLossAndGradient(ModelView model, Tensor x, Tensor y, Func<Tensor, Tensor, Tensor> loss)
    {
        if (Options.EotIterations == 1)
            return LossAndGradient(model, x, y, loss);
        using var scope = NewDisposeScope();
        Tensor? gradSum = null, lossValue = null, logits = null;
        for (var k = 0; k < Options.EotIterations; k++)
        {
            var (l, g, z) = LossAndGradient(model, x, y, loss);
            gradSum = gradSum is null ? g : gradSum + g;
            lossValue = l;
            logits = z;
        }
        return (lossValue!.MoveToOuterDisposeScope(), (gradSum! / Options.EotIterations).MoveToOuterDisposeScope(), logits!.MoveToOuterDisposeScope());
    }
}

using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// FAB, L-inf or L2 (Croce &amp; Hein 2020, "Minimally distorted adversarial examples with a fast adaptive boundary
/// attack"), with AutoAttack's constants: linearise the decision boundary, project both the iterate and the clean point
/// onto it, take a convex combination biased towards the clean point (alpha &lt;= alpha_max), extrapolate by eta; after a
/// success, step back towards the clean point by beta. Untargeted (AutoAttack "plus"), each iteration linearises every
/// class boundary (one input gradient per class) and moves towards the closest; with <see cref="FabOptions.TargetClasses"/>
/// n &gt; 0 it is FAB-T, run once per target class (2nd..(n+1)-th highest clean logit). Each run attacks the points still
/// robust; restarts after the first start randomly at eps/2. A point counts as broken only if the minimal adversarial
/// found is within eps; only those points get a perturbation, the others are returned clean.
/// </summary>
public sealed class Fab(ThreatModel threat, FabOptions? options = null, long seed = 0, string? name = null)
    : Attack(name ?? ((options?.TargetClasses ?? 0) > 0 ? "fab-t" : "fab"), threat, seed)
{
    private const double AlphaMax = 0.1;
    private const double Eta = 1.05;
    private const double Beta = 0.9;

    public FabOptions Options { get; } = Checked(options ?? new(), o => o.TargetClasses >= 0 && o.Iterations >= 1 && o.Restarts >= 1,
        "FAB needs at least one iteration and restart, and no negative target count");

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var random = NewRandom();
        return OnStillRobust(model, images, labels, Options.Restarts, Options.TargetClasses, p =>
        {
            var (found, distance) = Run(model, p, random);
            var broken = distance.le(Threat.Eps);
            return (broken, TensorOps.WhereRows(broken, Threat.Project(found, p.X), p.Previous));
        });
    }

    /// <summary>One run on a pass's points: the smallest adversarial found per point (the clean point where none) and its norm.</summary>
    private (Tensor Adversarial, Tensor Distance) Run(ModelView model, AttackPass p, AttackRandom random)
    {
        using var scope = NewDisposeScope();
        var (norm, eps, clean) = (Threat.Norm, Threat.Eps, p.X);
        var n = clean.shape[0];
        var flatClean = clean.flatten(1);
        var adv = clean.clone();
        var best = full(new[] { n }, 1e10, dtype: ScalarType.Float64, device: clean.device);
        // restarts after the first start at a random point at distance eps/2
        var t = p.Restart == 0 ? null : norm == AttackNorm.LInf ? random.Uniform(clean, -1.0, 1.0) : random.Normal(clean);
        var x1 = t is null ? clean.clone() : (clean + t * (0.5 * eps / TensorOps.PerSample(TensorOps.Norms(t, norm), t))).clamp(0.0, 1.0);

        for (var i = 0; i < Options.Iterations; i++)
        {
            using var stepScope = NewDisposeScope();
            var (df, dg) = Options.TargetClasses > 0 ? TargetBoundary(model, x1, p.Y, p.Targets!) : AllBoundaries(model, x1, p.Y);
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

            var isAdv = Predict(model, next).ne(p.Y);
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

    /// <summary>df_k = z_k - z_y and its input gradient for every class k; the true class gets +inf distance.</summary>
    private (Tensor Df, Tensor Dg) AllBoundaries(ModelView model, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var input = x.detach().clone();
        input.requires_grad_(true);
        var logits = model.Forward(input);
        var k = logits.shape[1];
        var zy = logits.gather(1, y.unsqueeze(1));
        var diff = logits - zy;
        var grads = new List<Tensor>();
        for (var c = 0; c < k; c++)
            grads.Add(autograd.grad(new[] { diff.select(1, c).sum() }, new[] { input }, retain_graph: c < k - 1)[0].flatten(1));
        GradientEvaluations += x.shape[0] * k;
        // the true class has df = 0 and dg = 0: push it out of the argmin
        var df = diff.detach().masked_fill(nn.functional.one_hot(y, k).to_type(ScalarType.Bool), 1e10);
        var dg = stack(grads, 1);
        return (df.MoveToOuterDisposeScope(), dg.MoveToOuterDisposeScope());
    }

    /// <summary>The one boundary of FAB-T: df = z_t - z_y and its input gradient, shaped (B,1) and (B,1,D).</summary>
    private (Tensor Df, Tensor Dg) TargetBoundary(ModelView model, Tensor x, Tensor y, Tensor targets)
    {
        var (value, grad, _) = LossAndGradient(model, x, y,
            (z, labels) => z.gather(1, targets.unsqueeze(1)).squeeze(1) - z.gather(1, labels.unsqueeze(1)).squeeze(1));
        return (value.unsqueeze(1), grad.flatten(1).unsqueeze(1));
    }
}

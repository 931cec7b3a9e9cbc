using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Untargeted FAB, L-inf or L2 (AutoAttack "plus"): each iteration linearises every class boundary (one input
/// gradient per class) and moves towards the closest. Restarts after the first start randomly at eps/2.
/// </summary>
public sealed class Fab : Attack
{
    public Fab(ThreatModel threat, FabOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? "fab", threat, seed)
    {
        var o = options ?? new FabOptions();
        if (o.Iterations < 1 || o.Restarts < 1)
            throw new ArgumentException("FAB needs at least one iteration and restart");
        Iterations = o.Iterations;
        Restarts = o.Restarts;
    }

    public int Iterations { get; }

    public int Restarts { get; }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var random = NewRandom();
        var clean = images.detach();
        var robust = Predict(model, clean).eq(labels);
        var adv = clean.clone();
        for (var restart = 0; restart < Restarts; restart++)
        {
            using var runScope = NewDisposeScope();
            var idx = TensorOps.Indices(robust);
            if (idx.shape[0] == 0)
                break;
            var x = clean.index_select(0, idx);
            var y = labels.index_select(0, idx);
            var (found, distance) = FabCore.Run(Threat.Norm, x, y, Iterations, Threat.Eps, restart > 0, random,
                p => AllBoundaries(model, p, y), p => Predict(model, p));
            var broken = distance.le(Threat.Eps);
            adv.index_copy_(0, idx, TensorOps.WhereRows(broken, Threat.Project(found, x), adv.index_select(0, idx)));
            robust.index_fill_(0, idx.index_select(0, TensorOps.Indices(broken)), false);
        }
        return adv.MoveToOuterDisposeScope();
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
}

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
        Options = FabCore.Validate(options, targeted: false);
    }

    public FabOptions Options { get; }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var random = NewRandom();
        return OnStillRobust(model, images, labels, Options.Restarts, 0,
            p => FabCore.Pass(Threat, Options.Iterations, p, random, x => AllBoundaries(model, x, p.Y), x => Predict(model, x)));
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

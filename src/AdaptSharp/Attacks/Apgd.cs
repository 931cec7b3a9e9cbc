using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Untargeted Auto-PGD (APGD-CE / APGD-DLR) as in AutoAttack: restarts run only on points still robust;
/// a fooled point returns the iterate that fooled, any other point its highest-loss iterate.
/// EOT: the gradient is averaged over <see cref="ApgdOptions.EotIterations"/> forwards.
/// </summary>
public sealed class Apgd : Attack
{
    public Apgd(ThreatModel threat, ApgdOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? DefaultName(options ?? new ApgdOptions()), threat, seed)
    {
        Options = options ?? new ApgdOptions();
        if (Options.Iterations < 1 || Options.Restarts < 1 || Options.EotIterations < 1)
            throw new ArgumentException("APGD needs at least one iteration, restart and EOT sample");
    }

    public ApgdOptions Options { get; }

    private static string DefaultName(ApgdOptions o) =>
        o.CustomLoss is not null ? "apgd" : o.Loss == ApgdLoss.Dlr ? "apgd-dlr" : "apgd-ce";

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var random = NewRandom();
        var clean = images.detach();
        var loss = Options.CustomLoss ?? (Options.Loss == ApgdLoss.Dlr ? Losses.Dlr : Losses.CrossEntropy);
        var adv = clean.clone();
        var robust = Predict(model, clean).eq(labels);
        for (var restart = 0; restart < Options.Restarts; restart++)
        {
            using var restartScope = NewDisposeScope();
            var idx = TensorOps.Indices(robust);
            if (idx.shape[0] == 0)
                break;
            var x = clean.index_select(0, idx);
            var y = labels.index_select(0, idx);
            var run = ApgdCore.Run(Threat, x, y, Options.Iterations, Options.Momentum, Options.Rho, random,
                p => EotLossAndGradient(model, p, y, loss, Options.EotIterations));
            var chosen = restart == 0
                ? TensorOps.WhereRows(run.Fooled, run.BestAdversarial, run.HighestLossPoint)
                : TensorOps.WhereRows(run.Fooled, run.BestAdversarial, adv.index_select(0, idx));
            adv.index_copy_(0, idx, chosen);
            robust.index_fill_(0, idx.index_select(0, TensorOps.Indices(run.Fooled)), false);
        }
        return adv.MoveToOuterDisposeScope();
    }

    internal (Tensor Loss, Tensor Grad, Tensor Logits) EotLossAndGradient(ModelView model, Tensor x, Tensor y,
        Func<Tensor, Tensor, Tensor> loss, int eot)
    {
        if (eot == 1)
            return LossAndGradient(model, x, y, loss);
        using var scope = NewDisposeScope();
        Tensor? gradSum = null, lossValue = null, logits = null;
        for (var k = 0; k < eot; k++)
        {
            var (l, g, z) = LossAndGradient(model, x, y, loss);
            gradSum = gradSum is null ? g : gradSum + g;
            lossValue = l;
            logits = z;
        }
        return ((lossValue!).MoveToOuterDisposeScope(), (gradSum! / eot).MoveToOuterDisposeScope(),
            logits!.MoveToOuterDisposeScope());
    }
}

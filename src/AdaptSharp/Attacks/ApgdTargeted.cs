using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// APGD-T: APGD with the targeted DLR loss, run once per target class; the targets are the 2nd..(n+1)-th
/// highest clean logits (n = 9 in AutoAttack standard). Each target run starts from the clean image and
/// attacks only the points still robust; success is any misclassification.
/// </summary>
public sealed class ApgdTargeted : Attack
{
    public ApgdTargeted(ThreatModel threat, ApgdTargetedOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? "apgd-t", threat, seed)
    {
        var o = options ?? new ApgdTargetedOptions();
        if (o.TargetClasses < 1 || o.Iterations < 1 || o.Restarts < 1)
            throw new ArgumentException("APGD-T needs at least one target class, iteration and restart");
        TargetClasses = o.TargetClasses;
        Iterations = o.Iterations;
        Restarts = o.Restarts;
        Momentum = o.Momentum;
        Rho = o.Rho;
    }

    public int TargetClasses { get; }

    public int Iterations { get; }

    public int Restarts { get; }

    public double Momentum { get; }

    public double Rho { get; }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var random = NewRandom();
        var clean = images.detach();
        var cleanLogits = Logits(model, clean);
        var classes = cleanLogits.shape[1];
        if (classes < 4)
            throw new ArgumentException("APGD-T (targeted DLR) needs at least 4 classes");
        var ranking = cleanLogits.argsort(1, descending: true);
        var robust = cleanLogits.argmax(1).eq(labels);
        var adv = clean.clone();
        var lastTarget = (int)Math.Min(TargetClasses + 1, classes);
        var first = true;
        for (var targetRank = 2; targetRank <= lastTarget; targetRank++)
        {
            for (var restart = 0; restart < Restarts; restart++)
            {
                using var runScope = NewDisposeScope();
                var idx = TensorOps.Indices(robust);
                if (idx.shape[0] == 0)
                    return adv.MoveToOuterDisposeScope();
                var x = clean.index_select(0, idx);
                var y = labels.index_select(0, idx);
                var targets = ranking.index_select(0, idx).select(1, targetRank - 1);
                Func<Tensor, Tensor, Tensor> loss = (z, yy) => Losses.TargetedDlr(z, yy, targets);
                var run = ApgdCore.Run(Threat, x, y, Iterations, Momentum, Rho, random,
                    p => LossAndGradient(model, p, y, loss));
                var fallback = first ? run.HighestLossPoint : adv.index_select(0, idx);
                adv.index_copy_(0, idx, TensorOps.WhereRows(run.Fooled, run.BestAdversarial, fallback));
                robust.index_fill_(0, idx.index_select(0, TensorOps.Indices(run.Fooled)), false);
                first = false;
            }
        }
        return adv.MoveToOuterDisposeScope();
    }
}

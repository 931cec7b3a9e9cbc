using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// FAB-T, L-inf or L2: the targeted FAB attack as AutoAttack runs it, once per target class (2nd..(n+1)-th
/// highest clean logit), each on the points still robust; restarts after the first start randomly at
/// eps/2. A point counts as broken only if the minimal adversarial found is within eps; only those points
/// get a perturbation, the others are returned clean.
/// </summary>
public sealed class FabTargeted : Attack
{
    public FabTargeted(ThreatModel threat, FabOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? "fab-t", threat, seed)
    {
        var o = options ?? new FabOptions();
        if (o.TargetClasses < 1 || o.Iterations < 1 || o.Restarts < 1)
            throw new ArgumentException("FAB-T needs at least one target class, iteration and restart");
        TargetClasses = o.TargetClasses;
        Iterations = o.Iterations;
        Restarts = o.Restarts;
    }

    public int TargetClasses { get; }

    public int Iterations { get; }

    public int Restarts { get; }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var random = NewRandom();
        var clean = images.detach();
        var cleanLogits = Logits(model, clean);
        var ranking = cleanLogits.argsort(1, descending: true);
        var robust = cleanLogits.argmax(1).eq(labels);
        var adv = clean.clone();
        var lastTarget = (int)Math.Min(TargetClasses + 1, cleanLogits.shape[1]);
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
                Func<Tensor, Tensor, Tensor> diff = (z, yy) =>
                    z.gather(1, targets.unsqueeze(1)).squeeze(1) - z.gather(1, yy.unsqueeze(1)).squeeze(1);
                var (found, distance) = FabCore.Run(Threat.Norm, x, y, Iterations, Threat.Eps, restart > 0, random,
                    p =>
                    {
                        var (value, grad, _) = LossAndGradient(model, p, y, diff);
                        return (value.unsqueeze(1), grad.flatten(1).unsqueeze(1));
                    },
                    p => Predict(model, p));
                var broken = distance.le(Threat.Eps);
                adv.index_copy_(0, idx, TensorOps.WhereRows(broken, Threat.Project(found, x), adv.index_select(0, idx)));
                robust.index_fill_(0, idx.index_select(0, TensorOps.Indices(broken)), false);
            }
        }
        return adv.MoveToOuterDisposeScope();
    }
}

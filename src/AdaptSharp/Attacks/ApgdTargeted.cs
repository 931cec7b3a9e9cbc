using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// APGD-T: APGD with the targeted DLR loss (at least 4 classes), run once per target class; the targets are the
/// 2nd..(n+1)-th highest clean logits (n = 9 in AutoAttack standard). Each target run starts from the clean image and
/// attacks only the points still robust; success is any misclassification.
/// </summary>
public sealed class ApgdTargeted : Attack
{
    public ApgdTargeted(ThreatModel threat, ApgdTargetedOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? "apgd-t", threat, seed)
    {
        Options = options ?? new ApgdTargetedOptions();
        if (Options.TargetClasses < 1 || Options.Iterations < 1 || Options.Restarts < 1)
            throw new ArgumentException("APGD-T needs at least one target class, iteration and restart");
    }

    public ApgdTargetedOptions Options { get; }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var random = NewRandom();
        return OnStillRobust(model, images, labels, Options.Restarts, Options.TargetClasses, p =>
        {
            Func<Tensor, Tensor, Tensor> loss = (z, y) => Losses.TargetedDlr(z, y, p.Targets!);
            var run = ApgdCore.Run(Threat, p.X, p.Y, Options.Iterations, Options.Momentum, Options.Rho, random,
                x => LossAndGradient(model, x, p.Y, loss));
            return (run.Fooled, TensorOps.WhereRows(run.Fooled, run.BestAdversarial, p.First ? run.HighestLossPoint : p.Previous));
        });
    }
}

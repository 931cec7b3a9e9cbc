using AdaptSharp.Models;
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
        Options = FabCore.Validate(options, targeted: true);
    }

    public FabOptions Options { get; }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var random = NewRandom();
        return OnStillRobust(model, images, labels, Options.Restarts, Options.TargetClasses, p =>
        {
            Func<Tensor, Tensor, Tensor> diff = (z, y) =>
                z.gather(1, p.Targets!.unsqueeze(1)).squeeze(1) - z.gather(1, y.unsqueeze(1)).squeeze(1);
            return FabCore.Pass(Threat, Options.Iterations, p, random, x =>
            {
                var (value, grad, _) = LossAndGradient(model, x, p.Y, diff);
                return (value.unsqueeze(1), grad.flatten(1).unsqueeze(1));
            }, x => Predict(model, x));
        });
    }
}

using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Training;

/// <summary>
/// TRADES as applied to prompt tuning before ADAPT: CE(f_P(x), y) + beta * KL(f_P(x) || f_P(x + delta)),
/// batch mean; delta maximises KL(f_0(x) || f_0(x + delta)) by PGD from x + 0.001 * N(0,1).
/// </summary>
public sealed class TradesObjective(ObjectiveOptions options) : TrainingObjective(options)
{
    public override Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed)
    {
        using var scope = NewDisposeScope();
        Tensor clean;
        using (no_grad())
            clean = AttackView(model).Forward(images);
        return InnerPgd(model, images, labels, seed, Losses.Kl(clean), PgdStart.SmallNormal).MoveToOuterDisposeScope();
    }

    public override ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (clean, adv) = PromptedPair(model, images, Require(adversarial, Name));
        var loss = F.cross_entropy(clean, labels) + Losses.KlBatchMean(clean, adv) * Options.Lambda;
        return new ObjectiveOutput(loss.MoveToOuterDisposeScope(), Detached(clean).MoveToOuterDisposeScope(),
            Detached(adv).MoveToOuterDisposeScope());
    }
}

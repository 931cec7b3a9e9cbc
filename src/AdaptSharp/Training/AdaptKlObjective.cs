using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Training;

/// <summary>
/// ADAPT-KL: CE(f_P(x), y) + lambda * KL(f_P(x) || f_P(x + delta_P)) (TRADES order, batch mean), with
/// delta_P from adaptive PGD maximising CE on f_P.
/// </summary>
public sealed class AdaptKlObjective(ObjectiveOptions options) : TrainingObjective(options)
{
    public override Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed) =>
        InnerPgd(model, images, labels, seed);

    public override ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (clean, adv) = PromptedPair(model, images, Require(adversarial, Name));
        var loss = F.cross_entropy(clean, labels) + Losses.KlBatchMean(clean, adv) * Options.Lambda;
        return new ObjectiveOutput(loss.MoveToOuterDisposeScope(), Detached(clean).MoveToOuterDisposeScope(),
            Detached(adv).MoveToOuterDisposeScope());
    }
}

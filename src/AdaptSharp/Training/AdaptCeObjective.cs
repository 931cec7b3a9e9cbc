using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Training;

/// <summary>
/// ADAPT-CE: CE(f_P(x), y) + lambda * CE(f_P(x + delta_P), y), delta_P from adaptive PGD maximising CE
/// on f_P (through the prompts).
/// </summary>
public sealed class AdaptCeObjective(ObjectiveOptions options) : TrainingObjective(options)
{
    public override Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed) =>
        InnerPgd(model, images, labels, seed);

    public override ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (clean, adv) = PromptedPair(model, images, Require(adversarial, Name));
        var loss = F.cross_entropy(clean, labels) + F.cross_entropy(adv, labels) * Options.Lambda;
        return new ObjectiveOutput(loss.MoveToOuterDisposeScope(), Detached(clean).MoveToOuterDisposeScope(),
            Detached(adv).MoveToOuterDisposeScope());
    }
}

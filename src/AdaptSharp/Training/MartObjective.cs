using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Training;

/// <summary>
/// MART (Wang et al. 2020) as applied to prompt tuning before ADAPT, with delta from prompt-agnostic PGD
/// (CE on f_0). With p = softmax(f_P(x)), p' = softmax(f_P(x + delta)):
/// loss = mean[ CE(p', y) - log(1.0001 - max_{k != y} p'_k) ] + beta * mean[ KL(p || p') * (1.0000001 - p_y) ],
/// where KL uses log(p' + 1e-12) (the constants are MART's own, for numerical safety).
/// </summary>
public sealed class MartObjective(ObjectiveOptions options) : TrainingObjective(options)
{
    public override Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed) =>
        InnerPgd(model, images, labels, seed);

    public override ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var (clean, adv) = PromptedPair(model, images, Require(adversarial, Name));
        var loss = Formula(clean, adv, labels, Options.Lambda);
        return new ObjectiveOutput(loss.MoveToOuterDisposeScope(), Detached(clean).MoveToOuterDisposeScope(),
            Detached(adv).MoveToOuterDisposeScope());
    }

    /// <summary>The MART loss from clean and adversarial logits.</summary>
    public static Tensor Formula(Tensor cleanLogits, Tensor advLogits, Tensor labels, double beta)
    {
        using var scope = NewDisposeScope();
        var advProbs = F.softmax(advLogits, 1);
        var trueMask = F.one_hot(labels, advLogits.shape[1]).to_type(ScalarType.Bool);
        var strongestWrong = advProbs.masked_fill(trueMask, double.NegativeInfinity).amax(1);
        var boostedCe = F.cross_entropy(advLogits, labels) - (1.0001 - strongestWrong).log().mean();

        var cleanProbs = F.softmax(cleanLogits, 1);
        var trueClean = cleanProbs.gather(1, labels.unsqueeze(1)).squeeze(1);
        var kl = (cleanProbs * (cleanProbs.log() - (advProbs + 1e-12).log())).sum(1);
        var weighted = (kl * (1.0000001 - trueClean)).mean();
        return (boostedCe + weighted * beta).MoveToOuterDisposeScope();
    }
}

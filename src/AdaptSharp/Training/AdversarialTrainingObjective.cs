using AdaptSharp.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Training;

/// <summary>
/// Madry AT as applied to prompt tuning before ADAPT: CE(f_P(x + delta), y), with delta from PGD
/// maximising CE on f_0 (or on f_P with the adaptive source).
/// </summary>
public sealed class AdversarialTrainingObjective(ObjectiveOptions options) : TrainingObjective(options)
{
    public override Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed) =>
        InnerPgd(model, images, labels, seed);

    public override ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels)
    {
        var logits = model.Forward(Require(adversarial, Name), usePrompts: true);
        return new ObjectiveOutput(F.cross_entropy(logits, labels), null, Detached(logits));
    }
}

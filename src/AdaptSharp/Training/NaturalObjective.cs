using AdaptSharp.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Training;

/// <summary>Natural training: CE(f_P(x), y).</summary>
public sealed class NaturalObjective(ObjectiveOptions options) : TrainingObjective(options)
{
    public override Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed) => null;

    public override ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels)
    {
        var logits = model.Forward(images, usePrompts: true);
        return new ObjectiveOutput(F.cross_entropy(logits, labels), Detached(logits), null);
    }
}

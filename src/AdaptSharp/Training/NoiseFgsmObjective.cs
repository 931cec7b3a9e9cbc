using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Training;

/// <summary>
/// N-FGSM (de Jorge et al. 2022) as applied to prompt tuning before ADAPT: noise uniform in [-2eps, 2eps],
/// one signed CE-gradient step of size eps on f_0, clipped to [0,1] but not projected back to the eps-ball;
/// loss CE(f_P(x + delta), y). (The step count and step size of the inner-attack options do not apply.)
/// </summary>
public sealed class NoiseFgsmObjective(ObjectiveOptions options) : TrainingObjective(options)
{
    public const double NoiseMultiplier = 2.0;

    public override Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed)
    {
        var threat = Options.Attack.Threat;
        var fgsm = new Fgsm(threat, FgsmOptions.NoiseFgsm(threat, NoiseMultiplier), seed, $"{Name}-inner");
        using var scope = NewDisposeScope();
        return fgsm.Perturb(AttackView(model), images, labels).detach().MoveToOuterDisposeScope();
    }

    public override ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels)
    {
        var logits = model.Forward(Require(adversarial, Name), usePrompts: true);
        return new ObjectiveOutput(F.cross_entropy(logits, labels), null, Detached(logits));
    }
}

using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Fast gradient sign method: one signed (L-inf) or normalised (L2) gradient step, optionally from a random
/// start (see <see cref="FgsmOptions"/> for the paper's evaluation FGSM and for N-FGSM).
/// </summary>
public sealed class Fgsm(ThreatModel threat, FgsmOptions? options = null, long seed = 0, string? name = null)
    : Attack(name ?? "fgsm", threat, seed)
{
    public FgsmOptions Options { get; } = options ?? new();

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var random = NewRandom();
        var clean = images.detach();
        var noise = Options.RandomStartMultiplier > 0 ? Threat.RandomDelta(clean, random, Options.RandomStartMultiplier) : zeros_like(clean);
        var start = (clean + noise).clamp(0.0, 1.0);
        var (_, grad, _) = LossAndGradient(model, start, labels, Options.Loss ?? Losses.CrossEntropy);
        var step = TensorOps.AscentDirection(grad, Threat.Norm) * (Options.StepSize ?? Threat.Eps);
        // With projection: P(clip(x + noise) + step). Without (N-FGSM): the step is added to the unclipped
        // noise and only the final point is clipped to [0,1], as in de Jorge et al.'s reference.
        var result = Options.ProjectToBall
            ? Threat.Project(start + step, clean)
            : (clean + noise + step).clamp(0.0, 1.0);
        return result.MoveToOuterDisposeScope();
    }
}

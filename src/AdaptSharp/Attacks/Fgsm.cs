using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>Fast gradient sign method: one signed (L-inf) or normalised (L2) gradient step.</summary>
public sealed class Fgsm : Attack
{
    public Fgsm(ThreatModel threat, FgsmOptions? options = null, long seed = 0, string name = "fgsm")
        : base(name, threat, seed)
    {
        Options = options ?? FgsmOptions.Plain;
    }

    public FgsmOptions Options { get; }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var random = new AttackRandom(Seed);
        var clean = images.detach();
        var start = Options.RandomStartMultiplier > 0
            ? Threat.RandomStart(clean, random, Options.RandomStartMultiplier)
            : clean;
        var (_, grad, _) = LossAndGradient(model, start, labels, Options.Loss ?? Losses.CrossEntropy);
        var step = Options.StepSize ?? Threat.Eps;
        var moved = start + TensorOps.AscentDirection(grad, Threat.Norm) * step;
        var result = Options.ProjectToBall ? Threat.Project(moved, clean) : moved.clamp(0.0, 1.0);
        return result.MoveToOuterDisposeScope();
    }
}

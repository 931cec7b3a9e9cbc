using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// Fast gradient sign method: one signed (L-inf) or normalised (L2) gradient step, optionally from a random
/// start (see <see cref="FgsmOptions"/> for the paper's evaluation FGSM and for N-FGSM).
/// </summary>
public sealed class Fgsm : Attack
{
    public Fgsm(ThreatModel threat, FgsmOptions? options = null, long seed = 0, string? name = null)
        : base(name ?? "fgsm", threat, seed)
    {
        Options = options ?? FgsmOptions.Plain;
    }

    public FgsmOptions Options { get; }

    public override Tensor Perturb(ModelView model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        using var random = NewRandom();
        var clean = images.detach();
        var noise = Options.RandomStartMultiplier > 0 ? Noise(clean, random) : zeros_like(clean);
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

    /// <summary>Uniform noise in [-k eps, k eps] (L-inf), or a random direction with radius uniform in [0, k eps] (L2).</summary>
    private Tensor Noise(Tensor clean, AttackRandom random)
    {
        var radius = Threat.Eps * Options.RandomStartMultiplier;
        return Threat.Norm == AttackNorm.LInf
            ? random.Uniform(clean, -radius, radius)
            : TensorOps.NormalizeL2(random.Normal(clean)) * TensorOps.PerSample(random.Uniform(clean.shape[0], 0.0, radius, clean), clean);
    }
}

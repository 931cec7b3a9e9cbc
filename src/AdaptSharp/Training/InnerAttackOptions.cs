using AdaptSharp.Attacks;

namespace AdaptSharp.Training;

/// <summary>
/// The inner maximisation of an adversarial training objective: L-inf PGD (or the single N-FGSM step)
/// with radius <see cref="Epsilon"/> and step <see cref="StepSize"/> in pixel units.
/// Per-dataset defaults: CIFAR / ImageFolder eps 8/255, step 2/255; (Fashion-)MNIST eps 0.1, step 0.025;
/// 10 steps and a uniform random start in both.
/// </summary>
public sealed record InnerAttackOptions(double Epsilon, double StepSize, int Steps = 10, bool RandomStart = true)
{
    public static InnerAttackOptions Cifar { get; } = new(8.0 / 255, 2.0 / 255);

    public static InnerAttackOptions FashionMnist { get; } = new(0.1, 0.025);

    public ThreatModel Threat => ThreatModel.LInf(Epsilon);

    /// <summary>Defaults for a dataset name as <c>DatasetSpec.Name</c> prints it (fashion-mnist, mnist, cifar10, ...).</summary>
    public static InnerAttackOptions ForDataset(string datasetName) =>
        datasetName.Trim().ToLowerInvariant() switch
        {
            "fashion-mnist" or "fmnist" or "mnist" => FashionMnist,
            _ => Cifar,
        };

    /// <summary>The same attack at another radius, keeping the step-to-eps ratio.</summary>
    public InnerAttackOptions WithEpsilon(double eps) =>
        this with { Epsilon = eps, StepSize = Epsilon > 0 ? StepSize * eps / Epsilon : eps / 4 };

    public void Validate()
    {
        if (!(Epsilon >= 0) || !(StepSize > 0) || Steps < 1)
            throw new ArgumentException($"bad inner attack: eps {Epsilon}, step {StepSize}, steps {Steps} (need eps >= 0, step > 0, steps >= 1)");
    }
}

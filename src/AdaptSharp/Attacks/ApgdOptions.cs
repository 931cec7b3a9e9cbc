using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// APGD configuration: iterations per run, restarts (each only on points still robust), EOT samples per
/// gradient (for randomised models), momentum rho-weight 0.75, and an optional custom per-sample loss
/// that replaces <see cref="Loss"/> (untargeted only).
/// </summary>
public sealed record ApgdOptions(
    int Iterations = 100,
    int Restarts = 1,
    ApgdLoss Loss = ApgdLoss.CrossEntropy,
    int EotIterations = 1,
    double Momentum = 0.75,
    double Rho = 0.75,
    Func<Tensor, Tensor, Tensor>? CustomLoss = null);

using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// APGD configuration: iterations per run, restarts (each only on points still robust), the per-sample loss to maximise
/// (null = cross-entropy; e.g. <c>LossSpec.Dlr.Function()</c>), EOT samples per gradient (for randomised models),
/// momentum and rho 0.75, and <see cref="TargetClasses"/>: 0 = untargeted; n &gt; 0 = APGD-T, the targeted DLR loss
/// (which replaces <see cref="Loss"/>) against each of the n most likely wrong classes in turn.
/// </summary>
public sealed record ApgdOptions(
    int Iterations = 100,
    int Restarts = 1,
    Func<Tensor, Tensor, Tensor>? Loss = null,
    int EotIterations = 1,
    double Momentum = 0.75,
    double Rho = 0.75,
    int TargetClasses = 0);

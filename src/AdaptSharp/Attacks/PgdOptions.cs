using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// PGD configuration. <see cref="StepSize"/> null = 2.5*eps/Steps (2/255 for PGD-10 at 8/255).
/// <see cref="Loss"/> null = cross-entropy; it is any per-sample loss (advLogits, labels) -> (N), e.g. a
/// closure over clean logits for TRADES. <see cref="Targeted"/>: labels are target classes, the loss is
/// minimised and success means predicting the target.
/// </summary>
public sealed record PgdOptions(
    int Steps = 10,
    double? StepSize = null,
    int Restarts = 1,
    PgdStart Start = PgdStart.Uniform,
    Func<Tensor, Tensor, Tensor>? Loss = null,
    bool Targeted = false,
    double SmallNormalScale = 0.001)
{
    public double ResolveStepSize(ThreatModel threat) => StepSize ?? 2.5 * threat.Eps / Math.Max(1, Steps);
}

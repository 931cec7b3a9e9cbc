namespace AdaptSharp.Attacks;

/// <summary>
/// FGSM configuration.
/// <para><see cref="RandomStartMultiplier"/>: 0 = start at the clean point; k &gt; 0 = uniform noise in
/// [-k*eps, k*eps] (L-inf) before the step (1 = the paper's FGSM, 2 = N-FGSM).</para>
/// <para><see cref="StepSize"/>: absolute step; null = eps.</para>
/// <para><see cref="ProjectToBall"/>: false only for N-FGSM training, whose point is then clipped to [0,1]
/// but may leave the eps-ball (it cannot be counted as an evaluation attack).</para>
/// <para><see cref="Loss"/>: per-sample loss to maximise; null = cross-entropy.</para>
/// </summary>
public sealed record FgsmOptions(
    double RandomStartMultiplier = 0.0,
    double? StepSize = null,
    bool ProjectToBall = true,
    Func<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>? Loss = null)
{
    /// <summary>The paper's evaluation FGSM: uniform start in the ball, step 2*eps, projected back.</summary>
    public static FgsmOptions PaperEvaluation(ThreatModel threat) => new(1.0, 2.0 * threat.Eps, true);

    /// <summary>N-FGSM (de Jorge et al. 2022): noise in [-2eps, 2eps], step eps, no projection to the ball.</summary>
    public static FgsmOptions NoiseFgsm(ThreatModel threat, double noiseMultiplier = 2.0) =>
        new(noiseMultiplier, threat.Eps, false);
}

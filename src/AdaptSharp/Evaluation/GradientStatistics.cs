namespace AdaptSharp.Evaluation;

/// <summary>Input-gradient health of the cross-entropy on f_P at clean points (checklist item 6).</summary>
public sealed record GradientStatistics(int Points, int ZeroGradientPoints, int NonFiniteGradientPoints, double MeanAbsGradient)
{
    /// <summary>Two forwards of the same batch differed (a randomised defence: attacks need EOT, e.g. autoattack-rand).</summary>
    public bool RandomizedOutput { get; init; }

    public double ZeroFraction => Points == 0 ? 0.0 : (double)ZeroGradientPoints / Points;
}

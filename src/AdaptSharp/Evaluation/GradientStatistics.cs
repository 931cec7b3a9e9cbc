namespace AdaptSharp.Evaluation;

/// <summary>Input-gradient health of the cross-entropy on f_P at clean points (checklist item 6).</summary>
public sealed record GradientStatistics(int Points, int ZeroGradientPoints, int NonFiniteGradientPoints, double MeanAbsGradient)
{
    public double ZeroFraction => Points == 0 ? 0.0 : (double)ZeroGradientPoints / Points;
}

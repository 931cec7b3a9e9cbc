namespace AdaptSharp.Evaluation;

/// <summary>
/// When the checklist calls a difference "clear". An accuracy gap a - b is clear when it exceeds
/// max(<see cref="StandardErrors"/> * SE, <see cref="MinimumGap"/>), SE = sqrt(p(1-p)/n) the binomial
/// standard error at the higher accuracy p over the n points both numbers come from (default: more than
/// 2 SE and at least 1 point). "Near 0" for the large-eps check means at most <see cref="LargeEpsMaxAccuracy"/>.
/// Input gradients are flagged when any is NaN/infinite, or when more than <see cref="ZeroGradientFraction"/>
/// of the points have an all-zero input gradient.
/// </summary>
public sealed record ChecklistThresholds(
    double StandardErrors = 2.0,
    double MinimumGap = 0.01,
    double LargeEpsMaxAccuracy = 0.02,
    double ZeroGradientFraction = 0.01)
{
    public double StandardError(double accuracy, int n) =>
        n <= 0 ? 0.0 : Math.Sqrt(Math.Clamp(accuracy, 0.0, 1.0) * (1.0 - Math.Clamp(accuracy, 0.0, 1.0)) / n);

    /// <summary>The smallest gap that counts as clear between two accuracies measured on n points.</summary>
    public double ClearGap(double higher, double lower, int n) =>
        Math.Max(StandardErrors * StandardError(Math.Max(higher, lower), n), MinimumGap);

    /// <summary>True when <paramref name="lower"/> is clearly below <paramref name="higher"/>.</summary>
    public bool IsClearlyBelow(double lower, double higher, int n) => higher - lower > ClearGap(higher, lower, n);
}

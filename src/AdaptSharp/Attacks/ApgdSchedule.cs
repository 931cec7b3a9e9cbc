namespace AdaptSharp.Attacks;

/// <summary>
/// APGD's checkpoint schedule (Croce &amp; Hein 2020, as AutoAttack runs it): the first checkpoint after
/// 22% of the iterations, then intervals shrinking by 3% of the budget down to a floor of 6%.
/// </summary>
internal static class ApgdSchedule
{
    /// <summary>(first interval, decrease per checkpoint, minimum interval) for a budget of n iterations.</summary>
    public static (int First, int Decrease, int Minimum) Intervals(int iterations) =>
        (Math.Max((int)(0.22 * iterations), 1), Math.Max((int)(0.03 * iterations), 1), Math.Max((int)(0.06 * iterations), 1));

    /// <summary>
    /// The iteration counts (1-based: "after this many iterations") at which a checkpoint is evaluated.
    /// For 100 iterations: 22, 41, 57, 70, 80, 87, 93, 99.
    /// </summary>
    public static int[] Checkpoints(int iterations)
    {
        var (first, decrease, minimum) = Intervals(iterations);
        var result = new List<int>();
        var interval = first;
        var at = interval;
        while (at <= iterations)
        {
            result.Add(at);
            interval = Math.Max(interval - decrease, minimum);
            at += interval;
        }
        return result.ToArray();
    }
}

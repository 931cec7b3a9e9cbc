namespace AdaptSharp.Bench;

/// <summary>Seconds per run over repeats: the median (typical) and the minimum (least disturbed by other load).</summary>
public sealed record Timing(double Median, double Min, int Runs)
{
    public static Timing From(IReadOnlyList<double> seconds)
    {
        var sorted = seconds.OrderBy(s => s).ToArray();
        var mid = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new Timing(median, sorted[0], sorted.Length);
    }
}

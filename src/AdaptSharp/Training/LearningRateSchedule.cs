using System.Globalization;

namespace AdaptSharp.Training;

/// <summary>
/// A learning rate as a pure function of the optimizer step, so a resumed run gets exactly the same
/// rates. Fractions are of the whole run (all epochs).
/// </summary>
public sealed record LearningRateSchedule
{
    /// <summary>Drops: the factor applied at each drop point.</summary>
    private const double DropFactor = 0.1;

    public ScheduleKind Kind { get; init; } = ScheduleKind.OneCycle;
    public double MaxLr { get; init; } = 0.1;
    /// <summary>One-cycle: where the peak sits (the paper's code peaks at epochs // 2).</summary>
    public double PeakFraction { get; init; } = 0.5;
    /// <summary>Cosine: length of the linear warm-up.</summary>
    public double WarmupFraction { get; init; } = 0.05;
    /// <summary>Drops: where the rate is multiplied by 0.1.</summary>
    public double[] DropFractions { get; init; } = [0.75, 0.9];

    public static LearningRateSchedule OneCycle(double maxLr, double peakFraction = 0.5) =>
        new() { Kind = ScheduleKind.OneCycle, MaxLr = maxLr, PeakFraction = peakFraction };

    public static LearningRateSchedule Cosine(double maxLr, double warmupFraction = 0.05) =>
        new() { Kind = ScheduleKind.Cosine, MaxLr = maxLr, WarmupFraction = warmupFraction };

    public static LearningRateSchedule Constant(double lr) => new() { Kind = ScheduleKind.Constant, MaxLr = lr };

    /// <summary>Rate for 0-based <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public double At(long step, long totalSteps)
    {
        if (totalSteps <= 0) return MaxLr;
        // The middle of the step's share of the run: no step is spent at exactly the end-point rate.
        var t = Math.Clamp((step + 0.5) / totalSteps, 0.0, 1.0);
        switch (Kind)
        {
            case ScheduleKind.OneCycle:
                var peak = Math.Clamp(PeakFraction, 1e-9, 1.0);
                return t <= peak ? MaxLr * t / peak : MaxLr * (1.0 - t) / Math.Max(1e-9, 1.0 - peak);
            case ScheduleKind.Cosine:
                var warmupSteps = (long)Math.Round(WarmupFraction * totalSteps);
                if (step < warmupSteps)
                    return MaxLr * (step + 1.0) / warmupSteps;
                var progress = (step - warmupSteps + 0.5) / Math.Max(1, totalSteps - warmupSteps);
                return MaxLr * 0.5 * (1.0 + Math.Cos(Math.PI * Math.Clamp(progress, 0.0, 1.0)));
            case ScheduleKind.Drops:
                return DropFractions.Aggregate(MaxLr, (lr, f) => t >= f ? lr * DropFactor : lr);
            default:
                return MaxLr;
        }
    }

    /// <summary>
    /// Parses the CLI form: "onecycle[:PEAK]", "cosine[:WARMUP]", "drops[:F1,F2,...]" or "constant"
    /// (fractions of the run), with <paramref name="maxLr"/> as the peak rate.
    /// </summary>
    public static LearningRateSchedule Parse(string spec, double maxLr)
    {
        var parts = spec.Trim().ToLowerInvariant().Split(':', 2);
        var (name, arg) = (parts[0], parts.Length > 1 ? parts[1] : null);
        double Fraction(string text)
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0 || v > 1)
                throw new ArgumentException($"bad schedule '{spec}': '{text}' is not a fraction in [0,1]");
            return v;
        }
        return name switch
        {
            "onecycle" or "one-cycle" or "cyclic" or "triangular" =>
                OneCycle(maxLr, arg is null ? 0.5 : Fraction(arg)),
            "cosine" => Cosine(maxLr, arg is null ? 0.05 : Fraction(arg)),
            "drops" or "step" => new() { Kind = ScheduleKind.Drops, MaxLr = maxLr, DropFractions = arg?.Split(',').Select(Fraction).ToArray() ?? [0.75, 0.9] },
            "constant" => Constant(maxLr),
            _ => throw new ArgumentException($"bad schedule '{spec}': expected onecycle[:PEAK], cosine[:WARMUP], drops[:F1,F2] or constant"),
        };
    }

    public override string ToString() => Kind switch
    {
        ScheduleKind.OneCycle => string.Create(CultureInfo.InvariantCulture, $"onecycle:{PeakFraction} max {MaxLr}"),
        ScheduleKind.Cosine => string.Create(CultureInfo.InvariantCulture, $"cosine:{WarmupFraction} max {MaxLr}"),
        ScheduleKind.Drops => string.Create(CultureInfo.InvariantCulture, $"drops:{string.Join(",", DropFractions)} max {MaxLr}"),
        _ => string.Create(CultureInfo.InvariantCulture, $"constant {MaxLr}"),
    };
}

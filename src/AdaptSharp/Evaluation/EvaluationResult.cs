namespace AdaptSharp.Evaluation;

/// <summary>A report and its per-point flags (columns = report.Runs in order; the suite columns come first).</summary>
public sealed record EvaluationResult(RobustnessReport Report, RobustFlags Flags)
{
    /// <summary>The flags of the suite columns only (columns = report.Attacks in order).</summary>
    public RobustFlags ColumnFlags => Flags.Remap(Enumerable.Range(0, Report.Attacks.Count).ToList());
}

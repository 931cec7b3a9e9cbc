namespace AdaptSharp.Evaluation;

/// <summary>A report and its per-point flags (columns = report.Runs in order; the suite columns come first).</summary>
public sealed record EvaluationResult(RobustnessReport Report, RobustFlags Flags);

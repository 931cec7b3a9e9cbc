namespace AdaptSharp.Evaluation;

/// <summary>A report and its per-point flags (columns = report.Attacks in order).</summary>
public sealed record EvaluationResult(RobustnessReport Report, RobustFlags Flags);

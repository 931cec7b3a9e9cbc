namespace AdaptSharp.Evaluation;

/// <summary>One item of the gradient-masking checklist (numbered as in EVALUATION.md) with the numbers behind it.</summary>
public sealed record CheckResult(int Number, string Title, CheckStatus Status, string Detail);

namespace AdaptSharp.Evaluation;

/// <summary>Outcome of one gradient-masking check.</summary>
public enum CheckStatus
{
    Passed,
    Flagged,
    NotRun,
}

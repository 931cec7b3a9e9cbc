namespace AdaptSharp.Attacks;

/// <summary>
/// Settings of <see cref="Square"/> (Andriushchenko et al. 2020): a query budget per point, the initial fraction of
/// changed pixels <see cref="PInit"/>, the margin loss (or CE), and whether the p schedule is rescaled to the budget.
/// </summary>
public sealed record SquareOptions(
    int Queries = 5000,
    double PInit = 0.8,
    int Restarts = 1,
    bool UseCrossEntropy = false,
    bool RescaleSchedule = false);

namespace AdaptSharp.Attacks;

/// <summary>
/// Settings of <see cref="Square"/> (Andriushchenko et al. 2020): a query budget per point, the initial fraction of
/// changed pixels <see cref="PInit"/>, the margin loss (or CE), and whether the p schedule is rescaled to the budget:
/// <see cref="RescaleSchedule"/> false (AutoAttack's setting) reads the p schedule's marks (10, 50, 200, ... 8000) as query
/// counts; true reads them on a 10,000-query scale, so the windows shrink on the same relative schedule whatever the
/// budget (at 5,000 queries twice as fast as AutoAttack's Square).
/// </summary>
public sealed record SquareOptions(
    int Queries = 5000,
    double PInit = 0.8,
    int Restarts = 1,
    bool UseCrossEntropy = false,
    bool RescaleSchedule = false);

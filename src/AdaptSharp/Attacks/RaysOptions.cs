namespace AdaptSharp.Attacks;

/// <summary>Settings of <see cref="Rays"/> (Chen and Gu 2020): queries per point, early stop once inside the ball, search tolerance.</summary>
public sealed record RaysOptions(
    int QueryBudget = 10_000,
    bool EarlyStop = true,
    double Tolerance = 1e-3);

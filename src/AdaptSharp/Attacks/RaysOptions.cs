namespace AdaptSharp.Attacks;

/// <summary>
/// Settings of <see cref="Rays"/> (Chen and Gu 2020): queries per point, early stop of a point's search once its distance
/// is within eps (enough to decide robustness), and the binary-search tolerance on the ray length (L2 units of the
/// unit-norm direction, as RayS).
/// </summary>
public sealed record RaysOptions(
    int QueryBudget = 10_000,
    bool EarlyStop = true,
    double Tolerance = 1e-3);

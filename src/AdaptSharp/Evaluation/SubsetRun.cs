using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// An extra attack run on the first <see cref="Points"/> evaluation points, for the checklist (PGD
/// convergence, very large eps) or an eps sweep. Accuracy counts every point (clean errors are not robust).
/// </summary>
public sealed record SubsetRun(
    string Purpose,
    AttackSpec Attack,
    AttackSource Source,
    ThreatModel Threat,
    int Points,
    int Robust,
    double MaxPerturbation,
    double Seconds)
{
    public double Accuracy => Points == 0 ? 0.0 : (double)Robust / Points;
}

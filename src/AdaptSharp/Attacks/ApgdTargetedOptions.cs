namespace AdaptSharp.Attacks;

/// <summary>
/// Settings of <see cref="ApgdTargeted"/> (autoattack's APGDAttack_targeted): the DLR-targeted loss against each of
/// the <see cref="TargetClasses"/> most likely wrong classes in turn, <see cref="Iterations"/> steps per target.
/// </summary>
public sealed record ApgdTargetedOptions(
    int TargetClasses = 9,
    int Iterations = 100,
    int Restarts = 1,
    double Momentum = 0.75,
    double Rho = 0.75);

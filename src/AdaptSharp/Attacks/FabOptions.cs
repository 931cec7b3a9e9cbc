namespace AdaptSharp.Attacks;

/// <summary>
/// Settings of <see cref="Fab"/> and <see cref="FabTargeted"/> (autoattack's FABAttack): <see cref="Iterations"/>
/// steps per restart; <see cref="TargetClasses"/> is read by the targeted version only.
/// </summary>
public sealed record FabOptions(
    int Iterations = 100,
    int Restarts = 1,
    int TargetClasses = 9);

namespace AdaptSharp.Attacks;

/// <summary>
/// Settings of <see cref="Fab"/> (autoattack's FABAttack): <see cref="Iterations"/> steps per restart;
/// <see cref="TargetClasses"/> 0 = untargeted, n &gt; 0 = FAB-T against each of the n most likely wrong classes in turn.
/// </summary>
public sealed record FabOptions(
    int Iterations = 100,
    int Restarts = 1,
    int TargetClasses = 0);

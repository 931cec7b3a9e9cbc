namespace AdaptSharp.Attacks;

/// <summary>
/// Settings of <see cref="AutoAttack"/>: the version (standard, plus, rand, or custom with <see cref="CustomStages"/>)
/// and the batch size: the cascade runs in fixed windows of that many points, each stage on the window's points still robust.
/// </summary>
public sealed record AutoAttackOptions(
    AutoAttackVersion Version = AutoAttackVersion.Standard,
    IReadOnlyList<Attack>? CustomStages = null,
    int BatchSize = 500)
{
    /// <summary>A custom cascade of <paramref name="stages"/>, in order.</summary>
    public static AutoAttackOptions Custom(params Attack[] stages) => new(AutoAttackVersion.Custom, stages);
}

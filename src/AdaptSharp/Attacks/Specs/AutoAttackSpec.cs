namespace AdaptSharp.Attacks;

/// <summary>
/// autoattack[-plus|-rand]: AutoAttack's attack lists (<see cref="AutoAttack.StandardStages"/>), run as a cascade in
/// which each stage attacks only the points still robust, from the clean image.
/// </summary>
public sealed record AutoAttackSpec(AutoAttackVersion Version = AutoAttackVersion.Standard) : AttackSpec
{
    /// <summary>The cascade's stages in order.</summary>
    public IReadOnlyList<AutoAttackStageSpec> Stages =>
        Enumerable.Range(0, AutoAttack.StandardStages(Version, ThreatModel.LInf(0.1), 0).Count).Select(i => new AutoAttackStageSpec(Version, i)).ToList();

    public override Attack Create(ThreatModel threat, long seed) => new AutoAttack(threat, new AutoAttackOptions(Version), seed, ToString());

    public override string Describe(ThreatModel threat) =>
        $"version {Version.ToString().ToLowerInvariant()}: {string.Join(" -> ", Stages.Select(s => s.StageName))}, each on the points still robust";

    public override string ToString() => Version switch
    {
        AutoAttackVersion.Plus => "autoattack-plus",
        AutoAttackVersion.Rand => "autoattack-rand",
        _ => "autoattack",
    };
}

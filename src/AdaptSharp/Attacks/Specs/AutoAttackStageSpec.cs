namespace AdaptSharp.Attacks;

/// <summary>
/// Stage <see cref="Index"/> of an AutoAttack version ("autoattack:apgd-t"), configured exactly as
/// <see cref="AutoAttack.StandardStages"/> configures it.
/// </summary>
public sealed record AutoAttackStageSpec(AutoAttackVersion Version, int Index) : AttackSpec
{
    private Attack Probe => AutoAttack.StandardStages(Version, ThreatModel.LInf(0.1), 0)[Index];

    public string StageName => Probe.Name;

    public AutoAttackSpec Parent => new(Version);

    public override bool IsBlackBox => Probe is Square or Rays;

    public override Attack Create(ThreatModel threat, long seed) => AutoAttack.StandardStages(Version, threat, seed)[Index];

    public override string Describe(ThreatModel threat) => $"stage {Index + 1} of {Parent}: {StageName}";

    public override string ToString() => $"{Parent}:{StageName}";
}

namespace AdaptSharp.Attacks;

/// <summary>
/// A configured attack object as a spec (a custom <see cref="AutoAttack"/> stage): <see cref="Create"/> hands back the
/// object itself, which keeps its own seed. Not parseable: it names an object, not a setting.
/// </summary>
internal sealed record AttackInstanceSpec(Attack Attack) : AttackSpec
{
    public override bool IsBlackBox => Attack is Square or Rays;

    public override Attack Create(ThreatModel threat, long seed) =>
        threat == Attack.Threat ? Attack : throw new ArgumentException($"{Attack} runs under {Attack.Threat}, not {threat}");

    public override string Describe(ThreatModel threat) => Attack.ToString();

    public override string ToString() => Attack.Name;
}

namespace AdaptSharp.Attacks;

/// <summary>AutoAttack presets (Croce &amp; Hein 2020).</summary>
public enum AutoAttackVersion
{
    /// <summary>APGD-CE, APGD-T (9 targets), FAB-T (9 targets), Square (5,000 queries).</summary>
    Standard,

    /// <summary>APGD-CE and APGD-DLR (5 restarts), FAB (5 restarts), Square, APGD-T, FAB-T.</summary>
    Plus,

    /// <summary>APGD-CE and APGD-DLR with 20 EOT samples, for randomised defences.</summary>
    Rand,

    /// <summary>A caller-given list of attacks.</summary>
    Custom,
}

namespace AdaptSharp.Attacks;

/// <summary>The norm of a threat model's perturbation ball.</summary>
public enum AttackNorm
{
    LInf,
    L2,
}

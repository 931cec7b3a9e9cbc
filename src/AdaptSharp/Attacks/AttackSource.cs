namespace AdaptSharp.Attacks;

/// <summary>
/// Which view an attack is generated on. It is always scored on the prompted model f_P.
/// Adaptive = generated on f_P (the honest default); Agnostic = generated on f_0 (prompt-agnostic); Transfer =
/// generated on a surrogate model (named by the run: one surrogate, or the ensemble of several), never querying f_P.
/// Clean accuracy and black-box attacks only ever query f_P and are reported as Adaptive.
/// </summary>
public enum AttackSource
{
    Adaptive,
    Agnostic,
    Transfer,
}

namespace AdaptSharp.Attacks;

/// <summary>Where PGD starts.</summary>
public enum PgdStart
{
    /// <summary>Uniform in the ball (Madry et al.).</summary>
    Uniform,

    /// <summary>At the clean point.</summary>
    None,

    /// <summary>Clean point plus 0.001 * N(0,1) (TRADES).</summary>
    SmallNormal,
}

namespace AdaptSharp.Training;

/// <summary>Training objectives (CLI names: natural, at, trades, mart, nfgsm, adapt-ce, adapt-kl).</summary>
public enum ObjectiveKind
{
    Natural,
    At,
    Trades,
    Mart,
    Nfgsm,
    AdaptCe,
    AdaptKl,
}

using AdaptSharp.Attacks;
namespace AdaptSharp.Evaluation;

/// <summary>
/// Robust accuracy of one white-box attack generated on f_0 (prompt-agnostic) minus generated on f_P (adaptive),
/// both scored on f_P: a large positive gap means the prompt-agnostic evaluation overstates robustness.
/// </summary>
public sealed record SourceGap(string Attack, double Adaptive, double Agnostic)
{
    public double Gap => Agnostic - Adaptive;

    /// <summary>Gaps for every attack the suite ran from both sources (complete columns only).</summary>
    public static IReadOnlyList<SourceGap> From(IReadOnlyList<AttackResult> attacks, int n) =>
        attacks.Where(a => a.Source == AttackSource.Adaptive && a.PointsDone == n && AttackSpec.Parse(a.Name).IsWhiteBox)
            .Select(a => (Adaptive: a, Agnostic: attacks.FirstOrDefault(b => b.Name == a.Name && b.Source == AttackSource.Agnostic && b.PointsDone == n)))
            .Where(p => p.Agnostic is not null)
            .Select(p => new SourceGap(p.Adaptive.Name, p.Adaptive.RobustAccuracy, p.Agnostic!.RobustAccuracy))
            .ToList();
}

using AdaptSharp.Attacks;
namespace AdaptSharp.Evaluation;

/// <summary>
/// Robust accuracy of one white-box attack generated on f_0 (prompt-agnostic) minus generated on f_P (adaptive),
/// both scored on f_P: a large positive gap means the prompt-agnostic evaluation overstates robustness.
/// </summary>
public sealed record SourceGap(AttackSpec Attack, double Adaptive, double Agnostic)
{
    public double Gap => Agnostic - Adaptive;

    /// <summary>Gaps for every attack the suite ran from both sources (complete columns only).</summary>
    public static IReadOnlyList<SourceGap> From(IReadOnlyList<AttackResult> attacks, int n) =>
        attacks.Where(a => a.Source == AttackSource.Adaptive && a.PointsDone == n && a.Attack.IsWhiteBox)
            .Select(a => (Adaptive: a, Agnostic: attacks.FirstOrDefault(b => b.Attack == a.Attack && b.Source == AttackSource.Agnostic && b.PointsDone == n)))
            .Where(p => p.Agnostic is not null)
            .Select(p => new SourceGap(p.Adaptive.Attack, p.Adaptive.RobustAccuracy, p.Agnostic!.RobustAccuracy))
            .ToList();
}

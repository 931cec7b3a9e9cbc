using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// The trainer's per-epoch check on a held-out set, run by the evaluation engine: clean accuracy, accuracy under
/// adaptive PGD (f_P) and, if requested, under prompt-agnostic PGD (attack on f_0, scored on f_P). The PGD seed is the
/// run's, so epochs are comparable.
/// </summary>
internal static class HeldOutEvaluation
{
    private const int BatchSize = 256;

    /// <summary><paramref name="metrics"/> with the held-out numbers of <paramref name="model"/> as it is now.</summary>
    public static EpochMetrics Measure(VisionTransformer model, TrainerOptions options, Tensor images, Tensor labels, EpochMetrics metrics)
    {
        var attack = options.EvaluationAttack;
        var pgd = attack is null ? null : new PgdSpec(attack.Steps, StepSize: attack.StepSize, RandomStart: attack.RandomStart);
        var withAgnostic = pgd is not null && options.EvaluatePromptAgnostic && model.HasPrompts;
        var report = new RobustnessEvaluator(model, new EvaluationOptions
        {
            Threat = attack?.Threat ?? ThreatModel.LInf(0),
            Attacks = pgd is null ? [new CleanSpec()] : [new CleanSpec(), pgd],
            Sources = withAgnostic ? [AttackSource.Adaptive, AttackSource.Agnostic] : [AttackSource.Adaptive],
            Seed = options.Seed,
            BatchSize = BatchSize,
            RunChecks = false,
        }).Run(images, labels).Report;
        double? Accuracy(AttackSource source) => pgd is null ? null : report.Find(pgd.ToString(), source)?.RobustAccuracy;
        return metrics with
        {
            EvalPoints = report.N,
            EvalCleanAccuracy = report.CleanAccuracy,
            EvalAdversarialAccuracy = Accuracy(AttackSource.Adaptive),
            EvalPromptAgnosticAccuracy = withAgnostic ? Accuracy(AttackSource.Agnostic) : null,
        };
    }
}

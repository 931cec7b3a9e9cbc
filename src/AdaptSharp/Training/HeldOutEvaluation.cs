using AdaptSharp.Attacks;
using AdaptSharp.Evaluation;
using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// The trainer's per-epoch check on a held-out set, run by the evaluation engine: clean accuracy, accuracy under
/// adaptive PGD (f_P) and, if requested, under prompt-agnostic PGD (attack on f_0, scored on f_P). The PGD seed is
/// the run's, so epochs are comparable.
/// </summary>
internal sealed class HeldOutEvaluation(VisionTransformer model, TrainerOptions options, Tensor images, Tensor labels)
{
    public (int Points, double Clean, double? Adaptive, double? PromptAgnostic) Measure()
    {
        var attack = options.EvaluationAttack;
        var pgd = attack is null ? null : new PgdSpec(attack.Steps, StepSize: attack.StepSize, RandomStart: attack.RandomStart);
        var withAgnostic = attack is not null && options.EvaluatePromptAgnostic && model.HasPrompts;
        var report = new RobustnessEvaluator(model, new EvaluationOptions
        {
            Threat = attack?.Threat ?? ThreatModel.LInf(0),
            Attacks = pgd is null ? [new CleanSpec()] : [new CleanSpec(), pgd],
            Sources = withAgnostic ? [AttackSource.Adaptive, AttackSource.Agnostic] : [AttackSource.Adaptive],
            Seed = options.Seed,
            BatchSize = options.EvaluationBatchSize,
            RunChecks = false,
        }).Run(images, labels).Report;
        double? Accuracy(AttackSource source) => pgd is null ? null : report.Find(pgd.ToString(), source)?.RobustAccuracy;
        return (report.N, report.CleanAccuracy, Accuracy(AttackSource.Adaptive), withAgnostic ? Accuracy(AttackSource.Agnostic) : null);
    }
}

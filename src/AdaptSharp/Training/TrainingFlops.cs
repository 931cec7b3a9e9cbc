using AdaptSharp.Models;
using AdaptSharp.Runtime;

namespace AdaptSharp.Training;

/// <summary>FLOPs of a training step per objective, from <see cref="FlopCounter"/>'s per-pass counts.</summary>
internal static class TrainingFlops
{
    /// <summary>
    /// One training step of an objective, per image of the batch: the inner attack (<paramref name="steps"/>
    /// attack steps on f_P for adapt-*, on f_0 otherwise; one for N-FGSM; plus the clean forward TRADES uses as
    /// its KL target) and the outer loss's forward and backward on one (at, nfgsm, natural) or two (clean and
    /// adversarial) images per input image.
    /// </summary>
    public static double Step(VitConfig c, PromptConfig prompts, ObjectiveKind kind, int steps, TrainableSet trainable)
    {
        var outer = FlopCounter.Forward(c, prompts) + FlopCounter.TrainingBackward(c, prompts, trainable);
        return kind switch
        {
            ObjectiveKind.Natural => outer,
            ObjectiveKind.At => steps * FlopCounter.AttackStep(c, prompts, false) + outer,
            ObjectiveKind.Nfgsm => FlopCounter.AttackStep(c, prompts, false) + outer,
            ObjectiveKind.Mart => steps * FlopCounter.AttackStep(c, prompts, false) + 2 * outer,
            ObjectiveKind.Trades => FlopCounter.Forward(c, prompts, false) + steps * FlopCounter.AttackStep(c, prompts, false) + 2 * outer,
            ObjectiveKind.AdaptCe or ObjectiveKind.AdaptKl => steps * FlopCounter.AttackStep(c, prompts) + 2 * outer,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }
}

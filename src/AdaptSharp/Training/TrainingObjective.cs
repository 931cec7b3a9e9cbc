using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// A training objective: an inner maximisation (<see cref="Perturb"/>, an attack of the Attacks namespace
/// run on f_0 or f_P) and an outer loss on the prompted model f_P (<see cref="Loss"/>). The inner attack
/// only takes input gradients, so no parameter gradient accumulates during it.
/// </summary>
public abstract class TrainingObjective
{
    protected TrainingObjective(ObjectiveOptions options)
    {
        if (options.Kind != ObjectiveKind.Natural)
            options.Attack.Validate();
        Options = options;
    }

    public ObjectiveOptions Options { get; }

    public string Name => ObjectiveOptions.FormatKind(Options.Kind);

    public AttackSource Source => Options.EffectiveSource;

    /// <summary>
    /// The perturbed batch (detached, in the caller's dispose scope), or null for objectives without an inner
    /// attack. All randomness comes from <paramref name="seed"/>.
    /// </summary>
    public abstract Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed);

    /// <summary>The outer loss on f_P for a clean batch and its perturbation (from <see cref="Perturb"/>).</summary>
    public abstract ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels);

    /// <summary>Inner attack then outer loss; the output belongs to the caller.</summary>
    public ObjectiveOutput Compute(VisionTransformer model, Tensor images, Tensor labels, long seed)
    {
        using var scope = NewDisposeScope();
        var adversarial = Perturb(model, images, labels, seed);
        var output = Loss(model, images, adversarial, labels);
        output.Loss.MoveToOuterDisposeScope();
        output.CleanLogits?.MoveToOuterDisposeScope();
        output.AdversarialLogits?.MoveToOuterDisposeScope();
        return output;
    }

    /// <summary>The view the inner attack differentiates through.</summary>
    protected ModelView AttackView(VisionTransformer model) =>
        Source == AttackSource.Adaptive ? model.Prompted : model.Unprompted;

    /// <summary>PGD from the Attacks namespace with this objective's radius, step and step count.</summary>
    protected Tensor InnerPgd(VisionTransformer model, Tensor images, Tensor labels, long seed,
        Func<Tensor, Tensor, Tensor>? loss = null, PgdStart? start = null)
    {
        var a = Options.Attack;
        var options = new PgdOptions(
            Steps: a.Steps, StepSize: a.StepSize,
            Start: start ?? (a.RandomStart ? PgdStart.Uniform : PgdStart.None),
            Loss: loss);
        var pgd = new Pgd(a.Threat, options, seed, $"{Name}-inner");
        using var scope = NewDisposeScope();
        return pgd.Perturb(AttackView(model), images, labels).detach().MoveToOuterDisposeScope();
    }

    /// <summary>f_P on the clean and the perturbed batch; one concatenated forward when enabled.</summary>
    protected (Tensor Clean, Tensor Adversarial) PromptedPair(VisionTransformer model, Tensor images, Tensor adversarial)
    {
        if (!Options.BatchCleanAndAdversarial)
            return (model.Forward(images, usePrompts: true), model.Forward(adversarial, usePrompts: true));
        using var scope = NewDisposeScope();
        var n = images.shape[0];
        var logits = model.Forward(cat([images, adversarial], 0), usePrompts: true);
        return (logits.narrow(0, 0, n).MoveToOuterDisposeScope(), logits.narrow(0, n, n).MoveToOuterDisposeScope());
    }

    protected static Tensor Detached(Tensor logits) => logits.detach();

    protected static Tensor Require(Tensor? adversarial, string objective) =>
        adversarial ?? throw new ArgumentException($"the {objective} objective needs the perturbed batch from Perturb");
}

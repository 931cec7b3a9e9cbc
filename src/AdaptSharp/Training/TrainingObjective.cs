using AdaptSharp.Attacks;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Training;

/// <summary>
/// A training objective: an inner maximisation (<see cref="Perturb"/>, an attack of the Attacks namespace
/// run on f_0 or f_P) and an outer loss on the prompted model f_P (<see cref="Loss"/>). The inner attack
/// only takes input gradients, so no parameter gradient accumulates during it.
/// <list type="bullet">
/// <item>natural: CE(f_P(x), y).</item>
/// <item>at (Madry): CE(f_P(x + delta), y), delta from PGD maximising CE on f_0 (or f_P with the adaptive source).</item>
/// <item>nfgsm (de Jorge et al. 2022): noise uniform in [-2eps, 2eps], one signed CE-gradient step of size eps on f_0,
/// clipped to [0,1] but not projected back to the eps-ball; loss CE(f_P(x + delta), y) (the inner-attack options'
/// step count and step size do not apply).</item>
/// <item>trades: CE(f_P(x), y) + beta * KL(f_P(x) || f_P(x + delta)), batch mean; delta maximises
/// KL(f_0(x) || f_0(x + delta)) by PGD from x + 0.001 * N(0,1).</item>
/// <item>mart (Wang et al. 2020), delta from prompt-agnostic PGD (CE on f_0): with p = softmax(f_P(x)),
/// p' = softmax(f_P(x + delta)), loss = mean[ CE(p', y) - log(1.0001 - max_{k != y} p'_k) ]
/// + beta * mean[ KL(p || p') * (1.0000001 - p_y) ], where KL uses log(p' + 1e-12) (MART's own constants).</item>
/// <item>adapt-ce: CE(f_P(x), y) + lambda * CE(f_P(x + delta_P), y), delta_P from adaptive PGD maximising CE on f_P
/// (through the prompts).</item>
/// <item>adapt-kl: CE(f_P(x), y) + lambda * KL(f_P(x) || f_P(x + delta_P)) (TRADES order, batch mean), with delta_P
/// from adaptive PGD maximising CE on f_P.</item>
/// </list>
/// </summary>
public sealed class TrainingObjective
{
    public const double NoiseFgsmMultiplier = 2.0;

    public TrainingObjective(ObjectiveOptions options)
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
    public Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed)
    {
        switch (Options.Kind)
        {
            case ObjectiveKind.Natural:
                return null;
            case ObjectiveKind.Nfgsm:
                var threat = Options.Attack.Threat;
                return Detached(new Fgsm(threat, FgsmOptions.NoiseFgsm(threat, NoiseFgsmMultiplier), seed, $"{Name}-inner"), model, images, labels);
            case ObjectiveKind.Trades:
                using (var scope = NewDisposeScope())
                {
                    Tensor clean;
                    using (no_grad())
                        clean = AttackView(model).Forward(images);
                    return InnerPgd(model, images, labels, seed, Losses.Kl(clean), PgdStart.SmallNormal).MoveToOuterDisposeScope();
                }
            default:
                return InnerPgd(model, images, labels, seed);
        }
    }

    /// <summary>The outer loss on f_P for a clean batch and its perturbation (from <see cref="Perturb"/>).</summary>
    public ObjectiveOutput Loss(VisionTransformer model, Tensor images, Tensor? adversarial, Tensor labels)
    {
        var natural = Options.Kind == ObjectiveKind.Natural;
        if (!natural && adversarial is null)
            throw new ArgumentException($"the {Name} objective needs the perturbed batch from Perturb");
        if (Options.Kind is ObjectiveKind.Natural or ObjectiveKind.At or ObjectiveKind.Nfgsm)
        {
            var logits = model.Forward(natural ? images : adversarial!, usePrompts: true);
            return new ObjectiveOutput(F.cross_entropy(logits, labels), natural ? logits.detach() : null, natural ? null : logits.detach());
        }
        using var scope = NewDisposeScope();
        var (clean, adv) = PromptedPair(model, images, adversarial!);
        var loss = Options.Kind switch
        {
            ObjectiveKind.AdaptCe => F.cross_entropy(clean, labels) + F.cross_entropy(adv, labels) * Options.Lambda,
            ObjectiveKind.Mart => Mart(clean, adv, labels, Options.Lambda),
            _ => F.cross_entropy(clean, labels) + Losses.KlBatchMean(clean, adv) * Options.Lambda,
        };
        return new ObjectiveOutput(loss.MoveToOuterDisposeScope(), clean.detach().MoveToOuterDisposeScope(),
            adv.detach().MoveToOuterDisposeScope());
    }

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
    private ModelView AttackView(VisionTransformer model) =>
        Source == AttackSource.Adaptive ? model.Prompted : model.Unprompted;

    /// <summary>PGD from the Attacks namespace with this objective's radius, step and step count.</summary>
    private Tensor InnerPgd(VisionTransformer model, Tensor images, Tensor labels, long seed,
        Func<Tensor, Tensor, Tensor>? loss = null, PgdStart? start = null)
    {
        var a = Options.Attack;
        var options = new PgdOptions(
            Steps: a.Steps, StepSize: a.StepSize,
            Start: start ?? (a.RandomStart ? PgdStart.Uniform : PgdStart.None),
            Loss: loss);
        return Detached(new Pgd(a.Threat, options, seed, $"{Name}-inner"), model, images, labels);
    }

    private Tensor Detached(Attack attack, VisionTransformer model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        return attack.Perturb(AttackView(model), images, labels).detach().MoveToOuterDisposeScope();
    }

    /// <summary>f_P on the clean and the perturbed batch; one concatenated forward when enabled.</summary>
    private (Tensor Clean, Tensor Adversarial) PromptedPair(VisionTransformer model, Tensor images, Tensor adversarial)
    {
        if (!Options.BatchCleanAndAdversarial)
            return (model.Forward(images, usePrompts: true), model.Forward(adversarial, usePrompts: true));
        using var scope = NewDisposeScope();
        var n = images.shape[0];
        var logits = model.Forward(cat([images, adversarial], 0), usePrompts: true);
        return (logits.narrow(0, 0, n).MoveToOuterDisposeScope(), logits.narrow(0, n, n).MoveToOuterDisposeScope());
    }

    /// <summary>The MART loss from clean and adversarial logits.</summary>
    private static Tensor Mart(Tensor cleanLogits, Tensor advLogits, Tensor labels, double beta)
    {
        using var scope = NewDisposeScope();
        var advProbs = F.softmax(advLogits, 1);
        var trueMask = F.one_hot(labels, advLogits.shape[1]).to_type(ScalarType.Bool);
        var strongestWrong = advProbs.masked_fill(trueMask, double.NegativeInfinity).amax(1);
        var boostedCe = F.cross_entropy(advLogits, labels) - (1.0001 - strongestWrong).log().mean();

        var cleanProbs = F.softmax(cleanLogits, 1);
        var trueClean = cleanProbs.gather(1, labels.unsqueeze(1)).squeeze(1);
        var kl = (cleanProbs * (cleanProbs.log() - (advProbs + 1e-12).log())).sum(1);
        var weighted = (kl * (1.0000001 - trueClean)).mean();
        return (boostedCe + weighted * beta).MoveToOuterDisposeScope();
    }
}

using System.Globalization;
using System.Text.Json;
using AdaptSharp.Attacks;
using AdaptSharp.Models;
using AdaptSharp.Runtime;
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
/// <remarks>
/// <see cref="Lambda"/> weighs the robust term (called beta in TRADES/MART and in the paper's code); <see cref="Source"/>
/// overrides where the inner attack runs (null = the objective's own: f_0 for at/trades/mart/nfgsm, f_P for adapt-*).
/// </remarks>
public sealed record TrainingObjective(ObjectiveKind Kind, InnerAttackOptions Attack, double Lambda = 6.0, AttackSource? Source = null)
{
    public const double NoiseFgsmMultiplier = 2.0;

    /// <summary>Whether clean and adversarial batches go through f_P in one concatenated forward (exact for a ViT).</summary>
    public bool BatchCleanAndAdversarial { get; init; } = true;

    public string Name => FormatKind(Kind);

    public AttackSource EffectiveSource =>
        Source ?? (Kind is ObjectiveKind.AdaptCe or ObjectiveKind.AdaptKl ? AttackSource.Adaptive : AttackSource.Agnostic);

    public static ObjectiveKind ParseKind(string text) => text.Trim().ToLowerInvariant() switch
    {
        "natural" or "clean" => ObjectiveKind.Natural,
        "at" or "pgd-at" or "madry" => ObjectiveKind.At,
        "trades" => ObjectiveKind.Trades,
        "mart" => ObjectiveKind.Mart,
        "nfgsm" or "n-fgsm" => ObjectiveKind.Nfgsm,
        "adapt-ce" or "adapt" => ObjectiveKind.AdaptCe,
        "adapt-kl" => ObjectiveKind.AdaptKl,
        _ => throw new ArgumentException($"bad method '{text}': expected adapt-ce, adapt-kl, at, trades, mart, nfgsm or natural"),
    };

    /// <summary>The CLI name: adapt-ce, adapt-kl, natural, at, trades, mart, nfgsm.</summary>
    public static string FormatKind(ObjectiveKind kind) => JsonNamingPolicy.KebabCaseLower.ConvertName(kind.ToString());

    public static AttackSource ParseSource(string text) => text.Trim().ToLowerInvariant() switch
    {
        "adaptive" or "prompted" or "fp" => AttackSource.Adaptive,
        "agnostic" or "prompt-agnostic" or "f0" => AttackSource.Agnostic,
        _ => throw new ArgumentException($"bad attack source '{text}': expected adaptive or agnostic"),
    };

    public string Describe() =>
        Kind == ObjectiveKind.Natural
            ? "natural"
            : string.Create(CultureInfo.InvariantCulture,
                $"{Name} (lambda {Lambda}, {(EffectiveSource == AttackSource.Adaptive ? "adaptive" : "prompt-agnostic")} inner attack, eps {Attack.Epsilon:G4}, step {Attack.StepSize:G4}, {Attack.Steps} steps)");

    /// <summary>Throws when the inner attack's settings are unusable (natural training has none).</summary>
    public void Validate()
    {
        if (Kind != ObjectiveKind.Natural)
            Attack.Validate();
    }

    /// <summary>
    /// The perturbed batch (detached, in the caller's dispose scope), or null for objectives without an inner
    /// attack. All randomness comes from <paramref name="seed"/>.
    /// </summary>
    public Tensor? Perturb(VisionTransformer model, Tensor images, Tensor labels, long seed)
    {
        switch (Kind)
        {
            case ObjectiveKind.Natural:
                return null;
            case ObjectiveKind.Nfgsm:
                var threat = Attack.Threat;
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
        var natural = Kind == ObjectiveKind.Natural;
        if (!natural && adversarial is null)
            throw new ArgumentException($"the {Name} objective needs the perturbed batch from Perturb");
        // parameter gradients sum over the batch, so their bits depend on the thread count: the configured one
        AdaptiveThreads.Settle();
        if (Kind is ObjectiveKind.Natural or ObjectiveKind.At or ObjectiveKind.Nfgsm)
        {
            var logits = model.Forward(natural ? images : adversarial!, usePrompts: true);
            return new ObjectiveOutput(F.cross_entropy(logits, labels), natural ? logits.detach() : null, natural ? null : logits.detach());
        }
        using var scope = NewDisposeScope();
        var (clean, adv) = PromptedPair(model, images, adversarial!);
        var loss = Kind switch
        {
            ObjectiveKind.AdaptCe => F.cross_entropy(clean, labels) + F.cross_entropy(adv, labels) * Lambda,
            ObjectiveKind.Mart => Mart(clean, adv, labels, Lambda),
            _ => F.cross_entropy(clean, labels) + Losses.KlBatchMean(clean, adv) * Lambda,
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
        EffectiveSource == AttackSource.Adaptive ? model.Prompted : model.Unprompted;

    /// <summary>PGD from the Attacks namespace with this objective's radius, step and step count.</summary>
    private Tensor InnerPgd(VisionTransformer model, Tensor images, Tensor labels, long seed,
        Func<Tensor, Tensor, Tensor>? loss = null, PgdStart? start = null)
    {
        var options = new PgdOptions(
            Steps: Attack.Steps, StepSize: Attack.StepSize,
            Start: start ?? (Attack.RandomStart ? PgdStart.Uniform : PgdStart.None),
            Loss: loss);
        return Detached(new Pgd(Attack.Threat, options, seed, $"{Name}-inner"), model, images, labels);
    }

    private Tensor Detached(Attack attack, VisionTransformer model, Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        return attack.Perturb(AttackView(model), images, labels).detach().MoveToOuterDisposeScope();
    }

    /// <summary>f_P on the clean and the perturbed batch; one concatenated forward when enabled.</summary>
    private (Tensor Clean, Tensor Adversarial) PromptedPair(VisionTransformer model, Tensor images, Tensor adversarial)
    {
        if (!BatchCleanAndAdversarial)
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

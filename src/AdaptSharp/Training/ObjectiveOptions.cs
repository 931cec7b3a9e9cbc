using System.Globalization;
using AdaptSharp.Attacks;

namespace AdaptSharp.Training;

/// <summary>
/// Everything that defines a training objective. <see cref="Lambda"/> weighs the robust term (called beta
/// in TRADES/MART and in the paper's code); <see cref="Source"/> overrides where the inner attack runs
/// (null = the objective's own: f_0 for at/trades/mart/nfgsm, f_P for adapt-*).
/// </summary>
public sealed record ObjectiveOptions(ObjectiveKind Kind, InnerAttackOptions Attack, double Lambda = 6.0, AttackSource? Source = null)
{
    /// <summary>Whether clean and adversarial batches go through f_P in one concatenated forward (exact for a ViT).</summary>
    public bool BatchCleanAndAdversarial { get; init; } = true;

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

    public static string FormatKind(ObjectiveKind kind) => kind switch
    {
        ObjectiveKind.AdaptCe => "adapt-ce",
        ObjectiveKind.AdaptKl => "adapt-kl",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public static AttackSource ParseSource(string text) => text.Trim().ToLowerInvariant() switch
    {
        "adaptive" or "prompted" or "fp" => AttackSource.Adaptive,
        "agnostic" or "prompt-agnostic" or "f0" => AttackSource.Agnostic,
        _ => throw new ArgumentException($"bad attack source '{text}': expected adaptive or agnostic"),
    };

    /// <summary>Builds the objective.</summary>
    public TrainingObjective Create() => new(this);

    public string Describe() =>
        Kind == ObjectiveKind.Natural
            ? "natural"
            : string.Create(CultureInfo.InvariantCulture,
                $"{FormatKind(Kind)} (lambda {Lambda}, {(EffectiveSource == AttackSource.Adaptive ? "adaptive" : "prompt-agnostic")} inner attack, eps {Attack.Epsilon:G4}, step {Attack.StepSize:G4}, {Attack.Steps} steps)");
}

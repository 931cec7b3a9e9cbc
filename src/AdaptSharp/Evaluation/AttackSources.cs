using AdaptSharp.Attacks;
namespace AdaptSharp.Evaluation;

/// <summary>Parses the <c>--source adaptive|agnostic|both</c> option.</summary>
internal static class AttackSources
{
    public static IReadOnlyList<AttackSource> Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "adaptive" or "fp" or "f_p" => [AttackSource.Adaptive],
        "agnostic" or "prompt-agnostic" or "f0" or "f_0" => [AttackSource.Agnostic],
        "both" => [AttackSource.Adaptive, AttackSource.Agnostic],
        _ => throw new ArgumentException($"bad source '{text}': expected adaptive, agnostic or both"),
    };

    public static string Format(AttackSource source) => source == AttackSource.Adaptive ? "adaptive" : "agnostic";
}

using AdaptSharp.Attacks;
namespace AdaptSharp.Evaluation;

/// <summary>Parses the <c>--source adaptive|agnostic|both</c> option and names sources in keys and reports.</summary>
internal static class AttackSources
{
    /// <summary>Prefix of a transfer source's name: "transfer:NAME" (NAME = a surrogate, or "ensemble").</summary>
    public const string TransferPrefix = "transfer:";

    public static IReadOnlyList<AttackSource> Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "adaptive" or "fp" or "f_p" => [AttackSource.Adaptive],
        "agnostic" or "prompt-agnostic" or "f0" or "f_0" => [AttackSource.Agnostic],
        "both" => [AttackSource.Adaptive, AttackSource.Agnostic],
        _ => throw new ArgumentException($"bad source '{text}': expected adaptive, agnostic or both"),
    };

    /// <summary>"adaptive", "agnostic", or "transfer:NAME" for a transfer from surrogate <paramref name="surrogate"/>.</summary>
    public static string Format(AttackSource source, string? surrogate = null) => source switch
    {
        AttackSource.Adaptive => "adaptive",
        AttackSource.Agnostic => "agnostic",
        _ => TransferPrefix + (surrogate ?? "?"),
    };
}

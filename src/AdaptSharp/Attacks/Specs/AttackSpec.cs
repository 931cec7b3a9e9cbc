using System.Globalization;
using System.Text.RegularExpressions;

namespace AdaptSharp.Attacks;

/// <summary>
/// A typed attack setting: what the CLI's attack names mean, parsed once. <see cref="ToString"/> is the canonical
/// name and <c>Parse(spec.ToString()) == spec</c>. <see cref="Create"/> builds the configured attack for a threat
/// model and seed; <see cref="Describe"/> states its exact settings for reports.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(AttackSpecJsonConverter))]
public abstract partial record AttackSpec
{
    /// <summary>Gradient-based (so it has an adaptive and a prompt-agnostic variant); false for clean and black-box attacks.</summary>
    public virtual bool IsWhiteBox => !IsBlackBox;

    /// <summary>Score- or decision-based: it only queries f_P.</summary>
    public virtual bool IsBlackBox => false;

    public abstract Attack Create(ThreatModel threat, long seed);

    /// <summary>The exact settings under <paramref name="threat"/>, derived from the spec.</summary>
    public abstract string Describe(ThreatModel threat);

    public abstract override string ToString();

    /// <summary>Names the CLI documents (every budget form, e.g. pgd50x2 or square1000, parses too).</summary>
    public static IReadOnlyList<string> Presets { get; } =
    [
        "clean", "fgsm", "fgsm-rs", "pgd10", "pgd20x5", "cw20", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "fab",
        "square", "square1000", "rays", "rays1000", "autoattack", "autoattack-plus", "autoattack-rand",
    ];

    public static AttackSpec Parse(string text)
    {
        var s = text.Trim().ToLowerInvariant() switch
        {
            "aa" or "autoattack-standard" => "autoattack",
            "aa-plus" => "autoattack-plus",
            "aa-rand" => "autoattack-rand",
            var name => name,
        };
        if (Fixed.FirstOrDefault(f => f.ToString() == s) is { } named)
            return named;
        var colon = s.IndexOf(':');
        if (colon > 0 && Parse(s[..colon]) is AutoAttackSpec parent)
        {
            var stage = parent.Stages.FirstOrDefault(x => x.StageName == s[(colon + 1)..]);
            return stage ?? throw new ArgumentException($"unknown stage '{s[(colon + 1)..]}' of {parent}");
        }
        if (Pattern().Match(s) is not { Success: true } m)
            throw new ArgumentException($"unknown attack '{text.Trim()}': expected one of {string.Join(", ", Presets)} " +
                                        "(pgdK[xR], cwK, squareQ, raysQ for other budgets)");
        if ((m.Groups["x"].Success || m.Groups["step"].Success || m.Groups["nostart"].Success) && m.Groups["name"].Value != "pgd")
            throw new ArgumentException($"bad attack '{text.Trim()}': only pgd takes restarts, a step size or -nostart");
        int Number(string group, int fallback) => m.Groups[group].Success ? Positive(m.Groups[group].Value, text) : fallback;
        return m.Groups["name"].Value switch
        {
            "pgd" => new PgdSpec(Number("n", 10), Number("x", 1), m.Groups["step"].Success ? Step(m.Groups["step"].Value, text) : null,
                !m.Groups["nostart"].Success),
            "cw" => new CwSpec(Number("n", 20)),
            "square" => new SquareSpec(Number("n", 5000)),
            "rays" => new RaysSpec(Number("n", 10_000)),
            _ => throw new ArgumentException($"bad attack '{text.Trim()}'"),
        };
    }

    /// <summary>A comma-separated list ("clean,fgsm,pgd10"), without duplicates, order kept.</summary>
    public static IReadOnlyList<AttackSpec> ParseList(string text)
    {
        var specs = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).Distinct().ToList();
        return specs.Count > 0 ? specs : throw new ArgumentException("--attacks is empty: name at least one attack (e.g. clean,pgd10)");
    }

    /// <summary>The specs without a budget in their name, found by their canonical names.</summary>
    private static readonly AttackSpec[] Fixed =
    [
        new CleanSpec(), new FgsmSpec(RandomStart: false), new FgsmSpec(RandomStart: true), new ApgdSpec(LossSpec.Ce), new ApgdSpec(LossSpec.Dlr),
        new ApgdTargetedSpec(), new FabSpec(Targeted: true), new FabSpec(Targeted: false), new SquareSpec(), new RaysSpec(),
        new AutoAttackSpec(AutoAttackVersion.Standard), new AutoAttackSpec(AutoAttackVersion.Plus), new AutoAttackSpec(AutoAttackVersion.Rand),
    ];

    private static int Positive(string digits, string spec) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new ArgumentException($"bad attack '{spec.Trim()}': budgets must be positive integers");

    private static double Step(string digits, string spec) =>
        double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && double.IsFinite(v)
            ? v
            : throw new ArgumentException($"bad attack '{spec.Trim()}': the step size must be a positive number");

    private protected static string Num(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<name>pgd|cw|square|rays)(?<n>\d+)(?:x(?<x>\d+))?(?:-step(?<step>[0-9.e+-]+))?(?<nostart>-nostart)?$")]
    private static partial Regex Pattern();
}

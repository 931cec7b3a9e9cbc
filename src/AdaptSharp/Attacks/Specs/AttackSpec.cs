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
        var s = text.Trim().ToLowerInvariant();
        switch (s)
        {
            case "clean": return new CleanSpec();
            case "fgsm": return new FgsmSpec(RandomStart: false);
            case "fgsm-rs": return new FgsmSpec(RandomStart: true);
            case "apgd-t": return new ApgdTargetedSpec();
            case "fab-t": return new FabSpec(Targeted: true);
            case "fab": return new FabSpec(Targeted: false);
            case "apgd-ce": return new ApgdSpec(LossSpec.Ce);
            case "apgd-dlr": return new ApgdSpec(LossSpec.Dlr);
            case "square": return new SquareSpec();
            case "rays": return new RaysSpec();
            case "aa" or "autoattack" or "autoattack-standard": return new AutoAttackSpec(AutoAttackVersion.Standard);
            case "aa-plus" or "autoattack-plus": return new AutoAttackSpec(AutoAttackVersion.Plus);
            case "aa-rand" or "autoattack-rand": return new AutoAttackSpec(AutoAttackVersion.Rand);
        }
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

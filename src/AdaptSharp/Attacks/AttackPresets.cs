using System.Globalization;
using System.Text.RegularExpressions;

namespace AdaptSharp.Attacks;

/// <summary>
/// Named attack presets for suites and the CLI:
/// fgsm (one step of eps from the clean point), fgsm-rs (the paper's: uniform start, step 2eps),
/// pgdK / pgdKxR (K steps of 2.5eps/K, R restarts), cwK (PGD-K, CW loss floored at -10, step eps/4),
/// apgd-ce, apgd-dlr, apgd-t (100 iterations, 9 targets), fab-t, fab, square / squareQ (queries),
/// rays / raysQ, autoattack (standard), autoattack-plus, autoattack-rand.
/// </summary>
public static partial class AttackPresets
{
    public static IReadOnlyList<string> Names { get; } =
    [
        "fgsm", "fgsm-rs", "pgd10", "pgd20x5", "cw20", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "fab",
        "square", "square1000", "rays", "rays1000", "autoattack", "autoattack-plus", "autoattack-rand",
    ];

    public static Attack Create(string spec, ThreatModel threat, long seed = 0)
    {
        var s = spec.Trim().ToLowerInvariant();
        switch (s)
        {
            case "fgsm": return new Fgsm(threat, FgsmOptions.Plain, seed, "fgsm");
            case "fgsm-rs": return new Fgsm(threat, FgsmOptions.PaperEvaluation(threat), seed, "fgsm-rs");
            case "apgd-ce": return new Apgd(threat, new ApgdOptions(100, 1, ApgdLoss.CrossEntropy), seed, "apgd-ce");
            case "apgd-dlr": return new Apgd(threat, new ApgdOptions(100, 1, ApgdLoss.Dlr), seed, "apgd-dlr");
            case "apgd-t": return new ApgdTargeted(threat, 9, 100, 1, seed, "apgd-t");
            case "fab-t": return new FabTargeted(threat, 9, 100, 1, seed, "fab-t");
            case "fab": return new Fab(threat, 100, 1, seed, "fab");
            case "square": return new Square(threat, 5000, 0.8, 1, seed, name: "square");
            case "rays": return new Rays(threat, 10_000, seed, name: "rays");
            case "aa" or "autoattack" or "autoattack-standard": return new AutoAttack(threat, AutoAttackVersion.Standard, seed);
            case "aa-plus" or "autoattack-plus": return new AutoAttack(threat, AutoAttackVersion.Plus, seed);
            case "aa-rand" or "autoattack-rand": return new AutoAttack(threat, AutoAttackVersion.Rand, seed);
        }
        var m = PgdPattern().Match(s);
        if (m.Success)
        {
            var steps = Positive(m.Groups[1].Value, spec);
            var restarts = m.Groups[2].Success ? Positive(m.Groups[2].Value, spec) : 1;
            return new Pgd(threat, new PgdOptions(steps, Restarts: restarts), seed, s);
        }
        m = CwPattern().Match(s);
        if (m.Success)
            return Pgd.CwInf(threat, Positive(m.Groups[1].Value, spec), seed: seed);
        m = SquarePattern().Match(s);
        if (m.Success)
            return new Square(threat, Positive(m.Groups[1].Value, spec), 0.8, 1, seed, name: s);
        m = RaysPattern().Match(s);
        if (m.Success)
            return new Rays(threat, Positive(m.Groups[1].Value, spec), seed, name: s);
        throw new ArgumentException(
            $"unknown attack '{spec}': expected one of {string.Join(", ", Names)} (pgdK[xR], cwK, squareQ, raysQ for other budgets)");
    }

    /// <summary>Parses a comma-separated list such as "fgsm,pgd10,cw20,autoattack,rays".</summary>
    public static IReadOnlyList<Attack> ParseList(string specs, ThreatModel threat, long seed = 0)
    {
        var parts = specs.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new ArgumentException("no attacks given");
        return parts.Select(p => Create(p, threat, seed)).ToList();
    }

    private static int Positive(string digits, string spec) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new ArgumentException($"bad attack '{spec}': budgets must be positive integers");

    [GeneratedRegex(@"^pgd(\d+)(?:x(\d+))?$")]
    private static partial Regex PgdPattern();

    [GeneratedRegex(@"^cw(\d+)$")]
    private static partial Regex CwPattern();

    [GeneratedRegex(@"^square(\d+)$")]
    private static partial Regex SquarePattern();

    [GeneratedRegex(@"^rays(\d+)$")]
    private static partial Regex RaysPattern();
}

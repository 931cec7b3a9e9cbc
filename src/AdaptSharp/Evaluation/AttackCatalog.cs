using System.Globalization;
using System.Text.RegularExpressions;
using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// Maps suite attack names to configured attacks from <see cref="AdaptSharp.Attacks"/>:
/// <c>clean</c>; <c>fgsm</c> (the paper's evaluation FGSM: uniform start, step 2 eps, projected);
/// <c>pgdN</c> or <c>pgdNxR</c> (N steps, R restarts, step 2.5 eps / N, CE, uniform start);
/// <c>cwN</c> (PGD with the CW margin loss floored at -10, step eps / 4); <c>apgd-ce</c>, <c>apgd-dlr</c>
/// (100 iterations, 1 restart) and <c>apgd-t</c> (9 targets, 100 iterations) as in AutoAttack standard.
/// </summary>
public static partial class AttackCatalog
{
    public const string Clean = "clean";

    private static readonly string[] FixedNames = ["clean", "fgsm", "apgd-ce", "apgd-dlr", "apgd-t"];

    [GeneratedRegex(@"^pgd(\d+)(?:x(\d+))?$")]
    private static partial Regex PgdPattern();

    [GeneratedRegex(@"^cw(\d+)$")]
    private static partial Regex CwPattern();

    /// <summary>Names accepted by <see cref="Create"/> (patterns shown as pgdN, pgdNxR, cwN).</summary>
    public static IReadOnlyList<string> KnownNames => [.. FixedNames, "pgdN", "pgdNxR", "cwN"];

    /// <summary>Lower-cases and checks a name; throws <see cref="ArgumentException"/> naming the known attacks.</summary>
    public static string Normalize(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        if (FixedNames.Contains(n))
            return n;
        var pgd = PgdPattern().Match(n);
        if (pgd.Success)
        {
            if (int.Parse(pgd.Groups[1].Value, CultureInfo.InvariantCulture) < 1
                || (pgd.Groups[2].Success && int.Parse(pgd.Groups[2].Value, CultureInfo.InvariantCulture) < 1))
                throw new ArgumentException($"bad attack '{name}': PGD needs at least one step and one restart");
            return n;
        }
        var cw = CwPattern().Match(n);
        if (cw.Success)
        {
            if (int.Parse(cw.Groups[1].Value, CultureInfo.InvariantCulture) < 1)
                throw new ArgumentException($"bad attack '{name}': CW needs at least one step");
            return n;
        }
        throw new ArgumentException($"unknown attack '{name}' (known: {string.Join(", ", KnownNames)})");
    }

    /// <summary>Parses a comma-separated list ("clean,fgsm,pgd10"), normalised, without duplicates, order kept.</summary>
    public static IReadOnlyList<string> ParseList(string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Normalize).Distinct().ToList();
        if (names.Count == 0)
            throw new ArgumentException("--attacks is empty: name at least one attack (e.g. clean,pgd10)");
        return names;
    }

    public static bool IsClean(string name) => name == Clean;

    /// <summary>Score-based or decision-based attacks: they only query f_P and have no agnostic variant.</summary>
    public static bool IsBlackBox(string name) => name is "square" or "rays";

    /// <summary>Attacks that differentiate through the model (and so have an adaptive and an agnostic variant).</summary>
    public static bool IsWhiteBox(string name) => !IsClean(name) && !IsBlackBox(name);

    /// <summary>True for pgdN / pgdNxR.</summary>
    public static bool IsPgd(string name) => PgdPattern().IsMatch(name);

    public static bool IsFgsm(string name) => name == "fgsm";

    /// <summary>The configured attack for a name; null for <c>clean</c>.</summary>
    public static Attack? Create(string name, ThreatModel threat, long seed, int numClasses)
    {
        var n = Normalize(name);
        if (n == Clean)
            return null;
        if (n == "fgsm")
            return new Fgsm(threat, FgsmOptions.PaperEvaluation(threat), seed, "fgsm");
        if (n == "apgd-ce")
            return new Apgd(threat, new ApgdOptions(Loss: ApgdLoss.CrossEntropy), seed, n);
        if (n == "apgd-dlr")
            return new Apgd(threat, new ApgdOptions(Loss: ApgdLoss.Dlr), seed, n);
        if (n == "apgd-t")
            return new ApgdTargeted(threat, targetClasses: Math.Min(9, Math.Max(1, numClasses - 1)), seed: seed);
        var pgd = PgdPattern().Match(n);
        if (pgd.Success)
        {
            var steps = int.Parse(pgd.Groups[1].Value, CultureInfo.InvariantCulture);
            var restarts = pgd.Groups[2].Success ? int.Parse(pgd.Groups[2].Value, CultureInfo.InvariantCulture) : 1;
            return new Pgd(threat, new PgdOptions(steps, Restarts: restarts), seed, n);
        }
        var cw = CwPattern().Match(n);
        if (cw.Success)
            return Pgd.CwInf(threat, int.Parse(cw.Groups[1].Value, CultureInfo.InvariantCulture), seed: seed);
        throw new ArgumentException($"unknown attack '{name}'");
    }

    /// <summary>A one-line description of an attack's settings for the report.</summary>
    public static string Describe(string name, ThreatModel threat, int numClasses)
    {
        var attack = Create(name, threat, 0, numClasses);
        return attack switch
        {
            null => "no attack; f_P on clean images",
            Fgsm f => $"one step of {Num(f.Options.StepSize ?? threat.Eps)} from a uniform start in [-{Num(f.Options.RandomStartMultiplier * threat.Eps)}, {Num(f.Options.RandomStartMultiplier * threat.Eps)}], CE, projected",
            Pgd p => $"{p.Options.Steps} steps of {Num(p.Options.ResolveStepSize(threat))}, {p.Options.Restarts} restart(s), {(p.Options.Loss is null ? "CE" : "CW margin (kappa 10)")} loss, {p.Options.Start.ToString().ToLowerInvariant()} start",
            Apgd a => $"{a.Options.Iterations} iterations, {a.Options.Restarts} restart(s), {(a.Options.Loss == ApgdLoss.Dlr ? "DLR" : "CE")} loss",
            ApgdTargeted t => $"{t.TargetClasses} target classes, {t.Iterations} iterations each, targeted DLR loss",
            _ => attack.ToString(),
        };
    }

    private static string Num(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}

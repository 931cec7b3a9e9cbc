using System.Globalization;
using System.Text.RegularExpressions;
using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// Suite attack names: <c>clean</c> (no attack) plus every <see cref="AttackPresets"/> name (fgsm, fgsm-rs,
/// pgdN[xR], cwN, apgd-ce, apgd-dlr, apgd-t, fab-t, fab, square[Q], rays[Q], autoattack, autoattack-plus,
/// autoattack-rand), classified for the adaptive/agnostic split and the checklist.
/// </summary>
public static partial class AttackCatalog
{
    public const string Clean = "clean";

    private static readonly ThreatModel ProbeThreat = ThreatModel.LInf(0.1);

    [GeneratedRegex(@"^pgd\d+(?:x\d+)?$")]
    private static partial Regex PgdPattern();

    public static IReadOnlyList<string> KnownNames => [Clean, .. AttackPresets.Names];

    /// <summary>The canonical name ("AA" becomes "autoattack"); throws <see cref="ArgumentException"/> for unknown names.</summary>
    public static string Normalize(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        return n == Clean ? Clean : AttackPresets.Create(n, ProbeThreat).Name;
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

    /// <summary>Score- or decision-based attacks (square, rays): they only query f_P and have no agnostic variant.</summary>
    public static bool IsBlackBox(string name) => !IsClean(name) && AutoAttack.IsBlackBox(AttackPresets.Create(name, ProbeThreat));

    /// <summary>Attacks that use the model's gradients (so have an adaptive and a prompt-agnostic variant).</summary>
    public static bool IsWhiteBox(string name) => !IsClean(name) && !IsBlackBox(name);

    /// <summary>True for pgdN / pgdNxR.</summary>
    public static bool IsPgd(string name) => PgdPattern().IsMatch(name);

    public static bool IsFgsm(string name) => name is "fgsm" or "fgsm-rs";

    /// <summary>The configured attack for a name; null for <c>clean</c>.</summary>
    public static Attack? Create(string name, ThreatModel threat, long seed) =>
        IsClean(name) ? null : AttackPresets.Create(name, threat, seed);

    /// <summary>A one-line description of an attack's settings for the report.</summary>
    public static string Describe(string name, ThreatModel threat) => Describe(Create(name, threat, 0), threat);

    private static string Describe(Attack? attack, ThreatModel threat) => attack switch
    {
        null => "no attack; f_P on clean images",
        Fgsm f => $"one step of {Num(f.Options.StepSize ?? threat.Eps)}" +
                  (f.Options.RandomStartMultiplier > 0 ? $" from a uniform start of radius {Num(f.Options.RandomStartMultiplier * threat.Eps)}" : " from the clean point") +
                  ", CE, projected",
        Pgd p => $"{p.Options.Steps} steps of {Num(p.Options.ResolveStepSize(threat))}, {p.Options.Restarts} restart(s), " +
                 $"{(p.Options.Loss is null ? "CE" : "CW margin (kappa 10)")} loss, {p.Options.Start.ToString().ToLowerInvariant()} start",
        Apgd a => $"{a.Options.Iterations} iterations, {a.Options.Restarts} restart(s), {(a.Options.CustomLoss is not null ? "custom" : a.Options.Loss == ApgdLoss.Dlr ? "DLR" : "CE")} loss" +
                  (a.Options.EotIterations > 1 ? $", EOT {a.Options.EotIterations}" : ""),
        ApgdTargeted t => $"{t.TargetClasses} target classes x {t.Iterations} iterations, targeted DLR loss",
        FabTargeted t => $"{t.TargetClasses} target classes x {t.Iterations} iterations, {t.Restarts} restart(s)",
        Fab f => $"{f.Iterations} iterations, {f.Restarts} restart(s), untargeted",
        Square s => $"{s.QueryBudget} queries, p_init {Num(s.PInit)}, {s.Restarts} restart(s)",
        Rays r => $"{r.QueryBudget} queries, hard-label",
        AutoAttack aa => $"version {aa.Version.ToString().ToLowerInvariant()}: {string.Join(" -> ", aa.Stages.Select(s => s.Name))}, each on the points still robust",
        _ => attack.ToString(),
    };

    private static string Num(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}

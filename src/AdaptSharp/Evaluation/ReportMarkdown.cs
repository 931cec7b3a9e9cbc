using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>Renders a <see cref="RobustnessReport"/> as report.md: header, per-attack table, checklist, sweep, plots.</summary>
internal static class ReportMarkdown
{
    public static string Render(RobustnessReport r, IReadOnlyList<string>? plotFiles = null)
    {
        var attacks = new MarkdownTable("llrrrrrrl", "attack", "source", "robust accuracy", "cumulative", "max perturbation", "time", "gradient evals", "queries", "settings");
        foreach (var a in r.Attacks)
            attacks.Row(a.Name, SourceLabel(a), Accuracy(a, r.N), Pct(a.CumulativeRobustAccuracy), ReportFormat.Number(a.MaxPerturbation),
                ReportFormat.Duration(a.Seconds), ReportFormat.Count(a.GradientEvaluations), ReportFormat.Count(a.Queries), a.Settings);
        var gaps = new MarkdownTable("lrrr", "attack", "adaptive (f_P)", "prompt-agnostic (f_0)", "gap");
        foreach (var g in r.SourceGaps)
            gaps.Row(g.Attack.ToString(), Pct(g.Adaptive), Pct(g.Agnostic), (100 * g.Gap).ToString("+0.00;-0.00;0.00", ReportFormat.Culture) + " pts");
        var sweep = new MarkdownTable("llrrr", "attack", "source", "eps", "robust accuracy", "n");
        foreach (var p in r.EpsSweep)
            sweep.Row(p.Attack.ToString(), AttackSources.Format(p.Source), ReportFormat.Number(p.Eps), Pct(p.Accuracy), p.Points.ToString(ReportFormat.Culture));
        var se = 100.0 * Math.Sqrt(r.RobustAccuracy * (1 - r.RobustAccuracy) / Math.Max(1, r.N));
        return string.Create(ReportFormat.Culture, $$"""
            # Robustness report: {{r.Model}}

            - Status: {{(r.Complete ? "complete" : "**partial** (resume with --resume)")}}
            - Model: `{{Short(r.ModelFingerprint)}}` (backbone SHA-256), prompts {{r.Prompts}}{{(r.PromptFingerprint is { } pf ? $" `{Short(pf)}`" : "")}}
            - Data: {{ReportFormat.Cell(r.Data)}} ({{r.Split}}), n = {{r.N}}, seed {{r.Seed}}, batch size {{r.BatchSize}}
            - Threat model: {{r.Threat}} (pixel space, [0,1] box); every adversarial batch checked before counting
            - Time: {{ReportFormat.Duration(r.TotalSeconds)}}, {{r.CreatedUtc}}

            {{attacks}}
            **Robust accuracy (pointwise worst case over the suite): {{Pct(r.RobustAccuracy)}}** (clean {{Pct(r.CleanAccuracy)}}; n = {{r.N}}, one seed, standard error {{se:0.0}} points)

            {{(r.SourceGaps.Count == 0 ? "" : $"## Adaptive vs prompt-agnostic\n\n{gaps}\nBoth are scored on f_P; a positive gap is robustness that only holds against attacks that ignore the prompts.\n\n")}}{{Transfer(r)}}## Gradient-masking checklist

            {{Checklist(r.Checklist)}}
            A gap counts as clear when it exceeds both 2 binomial standard errors (at the higher accuracy, over the points both numbers share) and 1 point; near 0 means at most 2%. The checklist's extra runs use the first points of the evaluation set: the suite's PGD adaptive and prompt-agnostic and FGSM (used for checks 1-2 only when the suite lacks them), PGD with 5x the steps and 2 restarts (check 5), PGD at a very large eps (check 4), and the input gradients of the CE loss on f_P (check 6).
            {{(r.EpsSweep.Count == 0 ? "" : $"\n## Robust accuracy vs eps\n\n{sweep}")}}{{(plotFiles is { Count: > 0 } ? "\n## Plots\n\n" + string.Concat(plotFiles.Select(f => $"![{f}]({f})\n")) : "")}}
            """);
    }

    /// <summary>
    /// "f_P" for clean accuracy, "adaptive (f_P)", "agnostic (f_0)" or "transfer:NAME" otherwise; black-box attacks query f_P.
    /// </summary>
    public static string SourceLabel(AttackResult a) =>
        a.Attack is CleanSpec ? "f_P"
        : a.Source == AttackSource.Transfer ? a.SourceName
        : a.Attack.IsBlackBox ? "black-box on f_P"
        : a.Source == AttackSource.Adaptive ? "adaptive (f_P)" : "agnostic (f_0)";

    /// <summary>One row per transferred attack: its adaptive accuracy (when run) and its accuracy from each transfer source.</summary>
    private static string Transfer(RobustnessReport r)
    {
        var transfers = r.Attacks.Where(a => a.Source == AttackSource.Transfer).ToList();
        if (transfers.Count == 0)
            return "";
        var sources = transfers.Select(a => a.Surrogate!).Distinct().ToList();
        var table = new MarkdownTable("lr" + new string('r', sources.Count), ["attack", "adaptive (f_P)", .. sources.Select(s => AttackSources.Format(AttackSource.Transfer, s))]);
        string Cell(AttackResult? a) => a is null ? "-" : Accuracy(a, r.N);
        foreach (var name in transfers.Select(a => a.Name).Distinct())
            table.Row([name, Cell(r.Find(name, AttackSource.Adaptive)), .. sources.Select(s => Cell(r.Find(name, AttackSource.Transfer, s)))]);
        return $"""
            ## Transfer from surrogates

            Surrogates: {ReportFormat.Cell(SurrogateIdentity.Describe(r.Surrogates))}{(sources.Contains(Models.SurrogateEnsemble.SourceName) ? "; ensemble = the loss on their averaged logits." : ".")}

            {table}
            Generated on the surrogate, scored on f_P; they enter the worst case and checklist item 3 as black-box attacks.


            """;
    }

    private static string Pct(double? fraction) => ReportFormat.Percent(fraction, decimals: 2);

    /// <summary>A column's robust accuracy, with how many of the <paramref name="n"/> points it has done when not all.</summary>
    private static string Accuracy(AttackResult a, int n) => Pct(a.RobustAccuracy) + (a.PointsDone == n ? "" : $" ({a.PointsDone}/{n} done)");

    /// <summary>The checklist as every report shows it (eval's report.md, the demo's per method).</summary>
    public static string Checklist(IEnumerable<CheckResult> checks)
    {
        var table = new MarkdownTable("llll", "#", "check", "result", "numbers");
        foreach (var c in checks)
            table.Row(c.Number.ToString(ReportFormat.Culture), c.Title, c.Status switch
            {
                CheckStatus.Passed => "passed",
                CheckStatus.Flagged => "**FLAGGED**",
                _ => "not run",
            }, c.Detail);
        return table.ToString();
    }

    private static string Short(string hex) => hex.Length > 16 ? hex[..16] : hex;
}

using AdaptSharp.Attacks;

namespace AdaptSharp.Evaluation;

/// <summary>
/// Methods x attacks tables built from several reports (e.g. natural, AT, ADAPT): <see cref="Render"/> gives one
/// column per suite column (attack and source) plus the pointwise worst case; the demo's and the study's tables
/// take their attack cells from <see cref="Accuracy"/>. Cells a report lacks (or has not finished) show "-".
/// </summary>
internal static class RobustnessTable
{
    /// <summary>The union of the reports' columns, in first-seen order.</summary>
    public static IReadOnlyList<SuiteColumn> Columns(IEnumerable<RobustnessReport> reports)
    {
        var columns = new List<SuiteColumn>();
        foreach (var a in reports.SelectMany(r => r.Attacks))
            if (!columns.Contains(a.Column))
                columns.Add(a.Column);
        return columns;
    }

    /// <summary>Robust accuracy of one column over all the report's points; null when it is missing or unfinished.</summary>
    public static double? Accuracy(RobustnessReport? report, string attack, AttackSource source, string? surrogate = null) =>
        report?.Find(attack, source, surrogate) is { } a && a.PointsDone == report.N ? a.RobustAccuracy : null;

    public static string Render(IEnumerable<(string Method, RobustnessReport Report)> rows)
    {
        var list = rows.ToList();
        var columns = Columns(list.Select(r => r.Report));
        var names = columns.Select(c => AttackSpec.Parse(c.Attack).IsWhiteBox ? $"{c.Attack} ({AttackSources.Format(c.Source, c.Surrogate)})" : c.Attack);
        var table = new MarkdownTable("l" + new string('r', columns.Count + 2), ["method", .. names, "worst case", "n"]);
        foreach (var (method, report) in list)
            table.Row([method, .. columns.Select(c => ReportMarkdown.Pct(Accuracy(report, c.Attack, c.Source, c.Surrogate))),
                ReportMarkdown.Pct(report.RobustAccuracy), report.N.ToString(ReportFormat.Culture)]);
        return table.ToString();
    }
}

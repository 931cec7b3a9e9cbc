using AdaptSharp.Attacks;
using System.Text;

namespace AdaptSharp.Evaluation;

/// <summary>
/// A methods x attacks markdown table built from several reports (e.g. natural, AT, ADAPT): one column per
/// suite column (attack and source), plus the pointwise worst case. Cells a report lacks show "-".
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

    public static string Header(IReadOnlyList<SuiteColumn> columns)
    {
        var names = columns.Select(c => AttackSpec.Parse(c.Attack).IsWhiteBox ? $"{c.Attack} ({AttackSources.Format(c.Source, c.Surrogate)})" : c.Attack);
        return $"| method | {string.Join(" | ", names)} | worst case | n |\n|---|{string.Concat(columns.Select(_ => "---:|"))}---:|---:|";
    }

    /// <summary>One table row: the report's robust accuracy per column (percent), its worst case and n.</summary>
    public static string Row(string method, RobustnessReport report, IReadOnlyList<SuiteColumn> columns)
    {
        var cells = columns.Select(c => report.Find(c.Attack, c.Source, c.Surrogate) is { } a && a.PointsDone == report.N
            ? ReportMarkdown.Pct(a.RobustAccuracy)
            : "-");
        return $"| {method.Replace("|", "\\|")} | {string.Join(" | ", cells)} | {ReportMarkdown.Pct(report.RobustAccuracy)} | {report.N} |";
    }

    public static string Render(IEnumerable<(string Method, RobustnessReport Report)> rows)
    {
        var list = rows.ToList();
        var columns = Columns(list.Select(r => r.Report));
        var sb = new StringBuilder();
        sb.AppendLine(Header(columns));
        foreach (var (method, report) in list)
            sb.AppendLine(Row(method, report, columns));
        return sb.ToString();
    }
}

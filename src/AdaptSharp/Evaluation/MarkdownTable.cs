using System.Text;

namespace AdaptSharp.Evaluation;

/// <summary>
/// The one table builder of the reports (eval, demo, study): a header, an alignment row and rows of cells, each
/// cell escaped. <c>align</c> holds one letter per column: l (text) or r (numbers).
/// </summary>
internal sealed class MarkdownTable
{
    private readonly StringBuilder text = new();
    private readonly int columns;

    public MarkdownTable(string align, params string[] headers)
    {
        if (align.Length != headers.Length || align.Any(c => c is not ('l' or 'r')))
            throw new ArgumentException($"alignment '{align}' does not fit {headers.Length} columns");
        columns = headers.Length;
        text.AppendLine("| " + string.Join(" | ", headers) + " |");
        text.AppendLine("|" + string.Concat(align.Select(c => c == 'r' ? "---:|" : "---|")));
    }

    public MarkdownTable Row(params string[] cells)
    {
        if (cells.Length != columns)
            throw new ArgumentException($"a row of {cells.Length} cells in a table of {columns} columns");
        text.AppendLine("| " + string.Join(" | ", cells.Select(ReportFormat.Cell)) + " |");
        return this;
    }

    public override string ToString() => text.ToString();
}

using AdaptSharp.IO;
using AdaptSharp.Attacks;
using System.Globalization;
using ScottPlot;

namespace AdaptSharp.Evaluation;

/// <summary>PNG plots of a report (ScottPlot): robust accuracy per attack and source, and robust accuracy vs eps.</summary>
internal static class ReportPlots
{
    private static readonly Color AdaptiveColor = Color.FromHex("#1f77b4");
    private static readonly Color AgnosticColor = Color.FromHex("#ff7f0e");
    private static readonly Color TransferColor = Color.FromHex("#2ca02c");

    /// <summary>
    /// Grouped bars: one group per attack, one bar per source (adaptive, agnostic, then each transfer source in suite
    /// order), accuracy in percent.
    /// </summary>
    public static void WriteAttackBars(RobustnessReport report, string path, int width = 900, int height = 500)
    {
        var names = report.Attacks.Select(a => a.Name).Distinct().ToList();
        var legend = new List<(string, Color)> { ("adaptive (generated on f_P)", AdaptiveColor) };
        if (report.Attacks.Any(a => a.Source == AttackSource.Agnostic))
            legend.Add(("prompt-agnostic (generated on f_0)", AgnosticColor));
        if (report.Attacks.Any(a => a.Source == AttackSource.Transfer))
            legend.Add(($"transfer (generated on {string.Join(", ", report.Attacks.Where(a => a.Source == AttackSource.Transfer).Select(a => a.Surrogate).Distinct())})", TransferColor));
        var bars = report.Attacks.Select(a => (names.IndexOf(a.Name), a.RobustAccuracy, a.Source switch
        {
            AttackSource.Adaptive => AdaptiveColor,
            AttackSource.Agnostic => AgnosticColor,
            _ => TransferColor,
        }));
        var plot = GroupedBars(names, bars, legend, "0.0");
        plot.Axes.SetLimitsY(0, 105);
        plot.Title($"{report.Model}: robust accuracy on f_P ({report.Threat}, n={report.N})");
        plot.YLabel("robust accuracy (%)");
        Save(plot, path, width, height);
    }

    /// <summary>
    /// Bars of accuracies in percent, grouped under <paramref name="groups"/> (side by side within a group, in order), each
    /// labelled with its value; a NaN accuracy (not measured) draws an empty slot.
    /// </summary>
    public static Plot GroupedBars(IReadOnlyList<string> groups, IEnumerable<(int Group, double Accuracy, Color Color)> bars,
        IEnumerable<(string Label, Color Color)> legend, string labelFormat)
    {
        var plot = new Plot();
        var placed = new List<Bar>();
        foreach (var group in bars.GroupBy(b => b.Group))
        {
            var members = group.ToList();
            var size = members.Count == 1 ? 0.6 : 0.8 / members.Count;
            for (var i = 0; i < members.Count; i++)
            {
                var v = members[i].Accuracy;
                placed.Add(new Bar
                {
                    Position = group.Key + (members.Count == 1 ? 0.0 : -0.4 + (i + 0.5) * size),
                    Value = double.IsNaN(v) ? 0 : 100.0 * v,
                    Size = size,
                    FillColor = members[i].Color,
                    Label = double.IsNaN(v) ? "" : (100.0 * v).ToString(labelFormat, CultureInfo.InvariantCulture),
                });
            }
        }
        plot.Add.Bars(placed).ValueLabelStyle.FontSize = 12;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, groups.Count).Select(i => (double)i).ToArray(), groups.ToArray());
        foreach (var (label, color) in legend)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, FillColor = color });
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>Robust accuracy vs eps, one line per attack and source.</summary>
    public static void WriteEpsCurve(RobustnessReport report, string path, int width = 800, int height = 500)
    {
        var plot = new Plot();
        foreach (var group in report.EpsSweep.GroupBy(p => (p.Attack, p.Source)))
        {
            var points = group.OrderBy(p => p.Eps).ToList();
            var line = plot.Add.Scatter(points.Select(p => p.Eps).ToArray(), points.Select(p => 100.0 * p.Accuracy).ToArray());
            line.LegendText = $"{group.Key.Attack} ({AttackSources.Format(group.Key.Source)})";
            line.Color = group.Key.Source == AttackSource.Adaptive ? AdaptiveColor : AgnosticColor;
            line.MarkerSize = 7;
            if (group.Key.Source == AttackSource.Agnostic)
                line.LinePattern = LinePattern.Dashed;
        }
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.SetLimitsY(0, 105);
        plot.Title($"{report.Model}: robust accuracy vs eps ({report.Threat.Norm}, n={report.N})");
        plot.XLabel("eps (pixel units)");
        plot.YLabel("robust accuracy (%)");
        Save(plot, path, width, height);
    }

    public static void Save(Plot plot, string path, int width, int height) => AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
}

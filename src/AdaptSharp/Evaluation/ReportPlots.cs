using AdaptSharp.IO;
using AdaptSharp.Attacks;
using System.Globalization;
using AdaptSharp.Checkpoints;
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
        var plot = new Plot();
        var names = report.Attacks.Select(a => a.Name).Distinct().ToList();
        var bars = new List<Bar>();
        foreach (var a in report.Attacks)
        {
            var group = report.Attacks.Where(b => b.Name == a.Name).ToList();
            var size = group.Count == 1 ? 0.6 : 0.8 / group.Count;
            var offset = group.Count == 1 ? 0.0 : -0.4 + (group.IndexOf(a) + 0.5) * size;
            bars.Add(new Bar
            {
                Position = names.IndexOf(a.Name) + offset,
                Value = 100.0 * a.RobustAccuracy,
                Size = size,
                FillColor = a.Source switch
                {
                    AttackSource.Adaptive => AdaptiveColor,
                    AttackSource.Agnostic => AgnosticColor,
                    _ => TransferColor,
                },
                Label = (100.0 * a.RobustAccuracy).ToString("0.0", CultureInfo.InvariantCulture),
            });
        }
        var series = plot.Add.Bars(bars);
        series.ValueLabelStyle.FontSize = 12;
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Count).Select(i => (double)i).ToArray(), names.ToArray());
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "adaptive (generated on f_P)", FillColor = AdaptiveColor });
        if (report.Attacks.Any(a => a.Source == AttackSource.Agnostic))
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = "prompt-agnostic (generated on f_0)", FillColor = AgnosticColor });
        if (report.Attacks.Any(a => a.Source == AttackSource.Transfer))
            plot.Legend.ManualItems.Add(new LegendItem
            {
                LabelText = $"transfer (generated on {string.Join(", ", report.Attacks.Where(a => a.Source == AttackSource.Transfer).Select(a => a.Surrogate).Distinct())})",
                FillColor = TransferColor,
            });
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.SetLimitsY(0, 105);
        plot.Title($"{report.Model}: robust accuracy on f_P ({report.Threat}, n={report.N})");
        plot.YLabel("robust accuracy (%)");
        Save(plot, path, width, height);
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

    private static void Save(Plot plot, string path, int width, int height)
    {
        var bytes = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, bytes);
    }
}

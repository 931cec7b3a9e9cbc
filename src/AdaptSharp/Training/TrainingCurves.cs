using AdaptSharp.IO;
using ScottPlot;

namespace AdaptSharp.Training;

/// <summary>Draws a run's per-epoch curves (training loss on the left axis; clean and adversarial accuracy on the right) as a PNG.</summary>
internal static class TrainingCurves
{
    /// <summary>Renders the curves and writes the PNG atomically. Returns the number of series drawn.</summary>
    public static int Render(IReadOnlyList<EpochMetrics> metrics, string path, string? title = null, int width = 1000, int height = 600)
    {
        if (metrics.Count == 0)
            throw new ArgumentException("no epochs to plot: metrics.jsonl is empty");
        var plot = new Plot();
        var series = 0;

        void Add(string label, Func<EpochMetrics, double?> value, bool accuracy, LinePattern pattern)
        {
            var points = metrics.Select(m => (X: (double)m.Epoch, Y: value(m)))
                .Where(p => p.Y is double y && double.IsFinite(y)).Select(p => (p.X, Y: p.Y!.Value * (accuracy ? 100 : 1))).ToArray();
            if (points.Length == 0) return;
            var scatter = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            scatter.LegendText = label;
            scatter.LinePattern = pattern;
            scatter.LineWidth = 2;
            scatter.MarkerSize = 6;
            if (accuracy)
                scatter.Axes.YAxis = plot.Axes.Right;
            series++;
        }

        Add("train loss", m => m.TrainLoss, false, LinePattern.Solid);
        Add("train clean acc", m => m.TrainCleanAccuracy, true, LinePattern.Dotted);
        Add("train adv acc", m => m.TrainAdversarialAccuracy, true, LinePattern.Dotted);
        Add("test clean acc", m => m.EvalCleanAccuracy, true, LinePattern.Solid);
        Add("test adaptive-PGD acc", m => m.EvalAdversarialAccuracy, true, LinePattern.Solid);
        Add("test prompt-agnostic-PGD acc", m => m.EvalPromptAgnosticAccuracy, true, LinePattern.Dashed);

        plot.Axes.Left.Label.Text = "training loss";
        plot.Axes.Right.Label.Text = "accuracy (%)";
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Axes.SetLimitsY(0, 100, plot.Axes.Right);
        if (title is not null) plot.Title(title);
        plot.ShowLegend(Alignment.MiddleRight);

        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
        return series;
    }
}

using System.CommandLine;
using AdaptSharp.IO;
using AdaptSharp.Training;
using Spectre.Console;

namespace AdaptSharp.Cli.Commands;

/// <summary>adapt plot RUN_DIR: training curves of a run folder as PNG.</summary>
internal static class PlotCommand
{
    public const string DefaultPlotFile = "curves.png";

    public static Command Create()
    {
        var command = new Command("plot", "Draw a run's training curves (loss, clean and adversarial accuracy per epoch) as PNG.");
        var run = new Argument<string>("RUN_DIR") { Description = "Run folder with metrics.jsonl (or the metrics.jsonl file itself)" };
        var output = new Option<string?>("--out") { Description = "PNG file (default RUN_DIR/curves.png)" };
        var width = new Option<int>("--width") { Description = "Image width in pixels (100 to 10000)", DefaultValueFactory = _ => 1000 }.Between(100, 10_000);
        var height = new Option<int>("--height") { Description = "Image height in pixels (100 to 10000)", DefaultValueFactory = _ => 600 }.Between(100, 10_000);
        var force = CommonOptions.Force();
        command.Arguments.Add(run);
        command.With(output, width, height, force);
        command.SetAction(result =>
        {
            var target = result.GetValue(run)!;
            var metricsPath = File.Exists(target) ? target : Path.Combine(target, Trainer.MetricsFileName);
            if (!File.Exists(metricsPath))
                throw new FileNotFoundException($"{target}: no {Trainer.MetricsFileName} found (expected a run folder written by adapt tune or adapt pretrain)");
            var folder = Path.GetDirectoryName(Path.GetFullPath(metricsPath))!;
            List<EpochMetrics> metrics;
            try
            {
                metrics = EpochMetrics.ReadFile(metricsPath);
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new FormatException($"{metricsPath}: not a metrics file ({e.Message.Split('\n')[0]})");
            }
            var png = result.GetValue(output) ?? Path.Combine(folder, DefaultPlotFile);
            // The default file belongs to the run folder and is redrawn freely; a named --out is the user's.
            OutputGuard.CheckFile(png, "--out", [("RUN_DIR metrics", metricsPath)],
                overwrite: result.GetValue(force) || result.GetValue(output) is null);
            var series = TrainingCurves.Render(metrics, png, Path.GetFileName(folder), result.GetValue(width), result.GetValue(height));
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(png)}[/] ({metrics.Count} epochs, {series} curves)");
            return 0;
        });
        return command;
    }
}

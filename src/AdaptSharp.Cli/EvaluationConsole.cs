using AdaptSharp.Evaluation;
using Spectre.Console;

namespace AdaptSharp.Cli;

/// <summary>Renders an evaluation run: Spectre progress bars when interactive, one line per stage otherwise.</summary>
internal static class EvaluationConsole
{
    /// <summary>Runs each evaluation of a demo or study under its title, resumable and interruptible (<see cref="Interruption"/>).</summary>
    public static EvaluationDriver Driver { get; } = (evaluator, x, y, title, resume, checkpoint) =>
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(title)}[/]");
        return Run(evaluator, x, y, resume, checkpoint, Interruption.Token);
    };

    /// <summary>The progress display of the long commands: description, bar, percentage, elapsed and remaining time.</summary>
    public static Progress ProgressBars() => AnsiConsole.Progress().AutoClear(false)
        .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn());

    /// <summary>Runs with Spectre progress bars (points done, robust accuracy so far) or, when not interactive, one line per stage.</summary>
    public static EvaluationResult Run(RobustnessEvaluator evaluator, TorchSharp.torch.Tensor images, TorchSharp.torch.Tensor labels,
        EvaluationResult? previous, Action<EvaluationResult> save, CancellationToken cancellationToken)
    {
        static string Line(EvaluationProgress p) =>
            $"{p.Stage,-34} {p.PointsDone,6}/{p.PointsTotal} pts, robust {ReportFormat.Percent(p.RobustAccuracy)}";

        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            return evaluator.Run(images, labels, p =>
            {
                if (p.PointsDone == p.PointsTotal)
                    Console.WriteLine(Line(p));
            }, previous, save, cancellationToken);
        }

        EvaluationResult result = null!;
        ProgressBars().Start(ctx =>
        {
            var tasks = new Dictionary<string, ProgressTask>();
            result = evaluator.Run(images, labels, p =>
            {
                if (!tasks.TryGetValue(p.Stage, out var task))
                    tasks[p.Stage] = task = ctx.AddTask(Markup.Escape(p.Stage), maxValue: Math.Max(1, p.PointsTotal));
                task.Value = p.PointsDone;
                task.Description = Markup.Escape(Line(p));
            }, previous, save, cancellationToken);
        });
        return result;
    }
}

using System.Globalization;
using AdaptSharp.Training;
using static AdaptSharp.Evaluation.ReportFormat;
using Spectre.Console;

namespace AdaptSharp.Cli;

/// <summary>Renders a training job: a progress bar with loss, accuracies and images/s, one line per epoch, Ctrl-C handling.</summary>
internal static class TrainingConsole
{
    private const double HeartbeatSeconds = 30;

    public static TrainingJobResult Run(TrainingJobSpec spec)
    {
        var cancellation = Interruption.Token;
        if (Console.IsOutputRedirected)
        {
            // One line per finished epoch and, for long epochs (a log of a cluster job or of a parallel demo's worker),
            // one every HeartbeatSeconds in between.
            var lastEpoch = 0;
            var sinceLine = System.Diagnostics.Stopwatch.StartNew();
            return TrainingJob.Run(spec, new InlineProgress(p =>
            {
                if (p.LastEpoch is { } m && m.Epoch > lastEpoch)
                {
                    lastEpoch = m.Epoch;
                    Console.WriteLine(EpochLine(m));
                    sinceLine.Restart();
                }
                else if (p.Phase == TrainingPhase.Training && p.Batch > 0 && sinceLine.Elapsed.TotalSeconds >= HeartbeatSeconds)
                {
                    Console.WriteLine($"{Describe(p)}, batch {p.Batch}/{p.BatchesPerEpoch}");
                    sinceLine.Restart();
                }
                if (p.Phase == TrainingPhase.Interrupted)
                    Console.WriteLine($"interrupted at epoch {p.Epoch}, batch {p.Batch}");
            }), cancellation, Console.WriteLine);
        }

        TrainingJobResult? result = null;
        EvaluationConsole.ProgressBars().Start(context =>
        {
            ProgressTask? task = null;
            var printed = 0;
            var progress = new InlineProgress(p =>
            {
                task ??= context.AddTask("training", maxValue: (double)p.Epochs * p.BatchesPerEpoch);
                task.Value = Math.Min(task.MaxValue, p.Step);
                task.Description = Markup.Escape(Describe(p));
                if (p.LastEpoch is { } m && m.Epoch > printed)
                {
                    printed = m.Epoch;
                    AnsiConsole.MarkupLine(Markup.Escape(EpochLine(m)));
                }
                if (p.Phase == TrainingPhase.Finished) task.Value = task.MaxValue;
            });
            result = TrainingJob.Run(spec, progress, cancellation, Log);
        });
        return result!;
    }

    /// <summary>A progress line of the long commands, in grey.</summary>
    public static void Log(string line) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]");

    private static string Describe(TrainingProgress p) => p.Phase switch
    {
        TrainingPhase.Evaluating => $"epoch {p.Epoch}/{p.Epochs} evaluating",
        TrainingPhase.Checkpointing => $"epoch {p.Epoch}/{p.Epochs} saving checkpoint",
        _ => string.Create(CultureInfo.InvariantCulture,
            $"epoch {p.Epoch}/{p.Epochs} loss {p.Running.TrainLoss:0.000} clean {Percent(p.Running.TrainCleanAccuracy)} adv {Percent(p.Running.TrainAdversarialAccuracy)} lr {p.Running.LearningRate:0.####} {p.Running.ImagesPerSecond:0} img/s"),
    };

    public static string EpochLine(EpochMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {m.Epoch}: loss {m.TrainLoss:0.0000}  train clean {Percent(m.TrainCleanAccuracy)} adv {Percent(m.TrainAdversarialAccuracy)}  |  test clean {Percent(m.EvalCleanAccuracy)} adaptive PGD-10 {Percent(m.EvalAdversarialAccuracy)}{(m.EvalPromptAgnosticAccuracy is null ? "" : $" agnostic PGD-10 {Percent(m.EvalPromptAgnosticAccuracy)}")}  ({m.ImagesPerSecond:0} img/s, {m.Seconds:0}s)");

    private sealed class InlineProgress(Action<TrainingProgress> handler) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => handler(value);
    }
}

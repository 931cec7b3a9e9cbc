using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// An evaluation kept in a report folder: a complete report for the same number of points is reused, a partial one
/// (an interrupted run) is resumed, otherwise the evaluation starts. The state is written after every batch; at the
/// end report.json, flags.npy, report.md and plots.
/// </summary>
internal static class CachedEvaluation
{
    public static EvaluationResult Run(string directory, VisionTransformer model, Tensor x, Tensor y, EvaluationDriver evaluate,
        EvaluationOptions options, string title, Action<string> log)
    {
        var previous = ReportWriter.TryLoad(directory);
        if (previous is { Report.Complete: true } && previous.Report.N == x.shape[0])
        {
            log($"reusing {directory}");
            return previous;
        }
        if (previous is not null)
            log($"resuming {directory}");
        var result = evaluate(new RobustnessEvaluator(model, options), x, y, title, previous, state => ReportWriter.WriteState(directory, state));
        ReportWriter.WriteAll(directory, result, plots: true);
        return result;
    }
}

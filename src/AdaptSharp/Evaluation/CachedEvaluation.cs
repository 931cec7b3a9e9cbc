using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// An evaluation kept in a report folder: a complete report for the same number of points is loaded instead of
/// recomputed, otherwise the evaluation runs and its report.json, flags.npy, report.md and plots are written.
/// </summary>
public static class CachedEvaluation
{
    public static EvaluationResult Run(string directory, VisionTransformer model, Tensor x, Tensor y,
        Func<RobustnessEvaluator, Tensor, Tensor, string, EvaluationResult> evaluate, EvaluationOptions options, string title,
        Action<string> log)
    {
        var previous = ReportWriter.TryLoad(directory);
        if (previous is { Report.Complete: true } && previous.Report.N == x.shape[0])
        {
            log($"reusing {directory}");
            return previous;
        }
        Directory.CreateDirectory(directory);
        var result = evaluate(new RobustnessEvaluator(model, options), x, y, title);
        ReportWriter.WriteAll(directory, result, plots: true);
        return result;
    }
}

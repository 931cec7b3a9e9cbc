using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// How a caller runs an evaluation (e.g. with progress bars and its cancellation token): it calls
/// <see cref="RobustnessEvaluator.Run"/> with <paramref name="resume"/> and <paramref name="checkpoint"/>.
/// </summary>
internal delegate EvaluationResult EvaluationDriver(RobustnessEvaluator evaluator, Tensor images, Tensor labels, string title,
    EvaluationResult? resume, Action<EvaluationResult> checkpoint);

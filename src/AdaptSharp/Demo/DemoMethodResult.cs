using AdaptSharp.Evaluation;
using AdaptSharp.Models;

namespace AdaptSharp.Demo;

/// <summary>
/// One tuned method of the demo: its artifact, parameter counts, training time (summed over epochs) and both
/// evaluations. <see cref="Reused"/>: the prompt file came from an earlier run in the same output folder.
/// </summary>
internal sealed record DemoMethodResult(
    string Method,
    string PromptFile,
    long PromptFileBytes,
    ParameterCount Parameters,
    double TrainSeconds,
    RobustnessReport Pgd,
    RobustnessReport AutoAttack,
    bool Reused = false);

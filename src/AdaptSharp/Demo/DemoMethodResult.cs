using AdaptSharp.Evaluation;
using AdaptSharp.Models;

namespace AdaptSharp.Demo;

/// <summary>One tuned method of the demo: its artifact, parameter counts, training time and both evaluations.</summary>
public sealed record DemoMethodResult(
    string Method,
    string PromptFile,
    long PromptFileBytes,
    ParameterCount Parameters,
    double TrainSeconds,
    RobustnessReport Pgd,
    RobustnessReport AutoAttack);

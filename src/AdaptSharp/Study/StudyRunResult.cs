using AdaptSharp.Evaluation;
using AdaptSharp.Models;

namespace AdaptSharp.Study;

/// <summary>
/// One finished run: its artifact (prompt file, or backbone file for full fine-tuning), parameter counts, training
/// time (summed over epochs, so resumed runs count once) and its evaluations (AutoAttack and RayS when requested).
/// </summary>
internal sealed record StudyRunResult(
    StudyRun Run,
    string ArtifactPath,
    long ArtifactBytes,
    ParameterCount Parameters,
    double TrainSeconds,
    RobustnessReport Main,
    RobustnessReport? AutoAttack,
    RobustnessReport? Rays,
    double? RaysPgdAdaptive);

using AdaptSharp.Evaluation;
using AdaptSharp.Models;

namespace AdaptSharp.Study;

/// <summary>
/// One finished run: its artifact (prompt file, or backbone file for full fine-tuning), parameter counts, training
/// time (summed over epochs, so resumed runs count once) and its evaluations (AutoAttack and RayS when requested).
/// <see cref="Reused"/>: the artifact came from an earlier call in the same output folder.
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
    double? RaysPgdAdaptive,
    bool Reused = false);

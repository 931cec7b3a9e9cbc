namespace AdaptSharp.Study;

/// <summary>A part of a study run that a worker process can do by itself (<see cref="StudyWorkUnit"/>).</summary>
internal enum StudyStage
{
    /// <summary>Tune the run's artifact (resumable).</summary>
    Train,

    /// <summary>The main evaluation (the suite, both sources, the checklist) and RayS when the run asks for it.</summary>
    Evaluate,

    /// <summary>AutoAttack standard, or one shard of its batches.</summary>
    AutoAttack,
}

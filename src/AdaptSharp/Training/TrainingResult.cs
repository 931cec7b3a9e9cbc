namespace AdaptSharp.Training;

/// <summary>What a <see cref="Trainer.Run"/> call did.</summary>
public sealed record TrainingResult(
    int EpochsCompleted,
    long Steps,
    bool Interrupted,
    IReadOnlyList<EpochMetrics> Metrics,
    string? CheckpointPath);

namespace AdaptSharp.Training;

/// <summary>
/// A progress report: epoch and batch are 1-based counts done; running means over the current epoch.
/// Accuracies are null when the objective did not compute the corresponding logits.
/// </summary>
public sealed record TrainingProgress(
    TrainingPhase Phase,
    int Epoch,
    int Epochs,
    int Batch,
    int BatchesPerEpoch,
    long Step,
    double Loss,
    double? CleanAccuracy,
    double? AdversarialAccuracy,
    double LearningRate,
    double ImagesPerSecond,
    EpochMetrics? LastEpoch = null);

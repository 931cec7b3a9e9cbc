namespace AdaptSharp.Training;

/// <summary>
/// A progress report: epoch and batch are 1-based counts done; <see cref="Running"/> holds the running means over
/// the current epoch (the last finished epoch's between epochs) and the rate of the last step. Its accuracies are
/// null when the objective did not compute the corresponding logits.
/// </summary>
public sealed record TrainingProgress(
    TrainingPhase Phase,
    int Epoch,
    int Epochs,
    int Batch,
    int BatchesPerEpoch,
    long Step,
    EpochMetrics Running,
    EpochMetrics? LastEpoch = null);

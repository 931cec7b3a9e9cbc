namespace AdaptSharp.Training;

public enum TrainingPhase
{
    Training,
    Evaluating,
    Checkpointing,
    Finished,
    Interrupted,
}

using AdaptSharp.Models;

namespace AdaptSharp.Training;

/// <summary>
/// How a <see cref="Trainer"/> runs. <see cref="GradientClipNorm"/> null disables clipping (the clip covers
/// every trainable tensor, prompts included). <see cref="EvaluationAttack"/> is the adaptive PGD of the
/// per-epoch evaluation (null = no adversarial evaluation). <see cref="CheckpointEvery"/> 0 = only at the end.
/// </summary>
public sealed record TrainerOptions
{
    public int Epochs { get; init; } = 1;
    public TrainableSet Trainable { get; init; } = TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed;
    public OptimizerOptions Optimizer { get; init; } = OptimizerOptions.Sgd();
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.OneCycle(0.1);
    public double? GradientClipNorm { get; init; } = 1.0;
    public long Seed { get; init; }
    public InnerAttackOptions? EvaluationAttack { get; init; }
    /// <summary>Also report prompt-agnostic PGD (f_0) accuracy per epoch (the obfuscation signal; doubles evaluation time).</summary>
    public bool EvaluatePromptAgnostic { get; init; }
    public int CheckpointEvery { get; init; } = 1;
    /// <summary>Where metrics.jsonl and checkpoint.safetensors go (null = keep nothing on disk).</summary>
    public string? RunDirectory { get; init; }

    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException("epochs must be at least 1");
        if (GradientClipNorm is <= 0) throw new ArgumentException("the gradient clip norm must be positive");
        if (CheckpointEvery < 0) throw new ArgumentException("checkpoint-every must be >= 0");
        if (Trainable == TrainableSet.None) throw new ArgumentException("the trainable set is empty");
        EvaluationAttack?.Validate();
    }
}

namespace AdaptSharp.Training;

/// <summary>Optimizer hyper-parameters (the learning rate comes from the schedule).</summary>
public sealed record OptimizerOptions
{
    public OptimizerKind Kind { get; init; } = OptimizerKind.Sgd;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 1e-4;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;
    /// <summary>
    /// Skip weight decay on biases, norm weights, the class token and the position embedding
    /// (the usual choice for ViT training from scratch). The paper's prompt-tuning recipe decays everything.
    /// </summary>
    public bool SkipDecayOnNormsAndBiases { get; init; }

    public static OptimizerOptions Sgd(double momentum = 0.9, double weightDecay = 1e-4) =>
        new() { Kind = OptimizerKind.Sgd, Momentum = momentum, WeightDecay = weightDecay };

    public static OptimizerOptions AdamW(double weightDecay = 0.05) =>
        new() { Kind = OptimizerKind.AdamW, WeightDecay = weightDecay, SkipDecayOnNormsAndBiases = true };

    public static OptimizerKind ParseKind(string text) => text.Trim().ToLowerInvariant() switch
    {
        "sgd" => OptimizerKind.Sgd,
        "adamw" => OptimizerKind.AdamW,
        _ => throw new ArgumentException($"bad optimizer '{text}': expected sgd or adamw"),
    };
}

using AdaptSharp.Training;

namespace AdaptSharp.Demo;

/// <summary>
/// Sizes of the embedded-default study. <see cref="Quick"/> is chosen by measurement to finish in about ten
/// minutes on a 2-core CPU; <see cref="Full"/> is the same study on all the data.
/// </summary>
internal sealed record DemoPlan
{
    public required string Name { get; init; }

    /// <summary>Methods tuned on the backbone, in table order.</summary>
    public IReadOnlyList<ObjectiveKind> Methods { get; init; } = [ObjectiveKind.Natural, ObjectiveKind.At, ObjectiveKind.AdaptCe];

    /// <summary>deep:4 + head + patch embedding: 4,426 of 231,562 parameters (1.91%) on vit-fmnist-cpu-d8.</summary>
    public string Prompts { get; init; } = "deep:4";

    /// <summary>
    /// The paper's main setting: prompts + head + patch embedding. Measured on the demo backbone (10,000 images,
    /// 2 epochs, adapt-ce): prompts + head alone reached 6.6% adaptive-PGD accuracy, with the patch embedding 25.4%.
    /// </summary>
    public string Trainable { get; init; } = "head,patch";

    /// <summary>Training images used (the first N of the training split); null = all 60,000.</summary>
    public int? TrainImages { get; init; }

    public int Epochs { get; init; } = 2;

    public int BatchSize { get; init; } = 128;

    public double LearningRate { get; init; } = 0.1;

    public double Eps { get; init; } = 0.1;

    /// <summary>
    /// Inner PGD of the adversarial methods. Measured on the demo backbone (adapt-ce, 15,000 images, 3 epochs, no augmentation,
    /// 500 test points): PGD-5 with step 0.03 reached 51.2% adaptive PGD-10 at 311 images/s; PGD-10 with step 0.025 44.8% after
    /// 2 epochs at 160-180 images/s (one thread each).
    /// </summary>
    public int InnerSteps { get; init; } = 5;

    public double InnerStep { get; init; } = 0.03;

    /// <summary>Random crop; off because the backbone was pretrained without it and the tuning is short.</summary>
    public bool Augment { get; init; }

    /// <summary>Test points for clean and PGD (the first N of the test split).</summary>
    public int EvalPoints { get; init; } = 1000;

    /// <summary>Test points (the first N of <see cref="EvalPoints"/>) for AutoAttack standard.</summary>
    public int AutoAttackPoints { get; init; } = 1000;

    public int EvalBatchSize { get; init; } = 250;

    public long Seed { get; init; }

    public static DemoPlan Quick { get; } = new() { Name = "quick", TrainImages = 15_000, Epochs = 4, AutoAttackPoints = 100 };

    /// <summary>A miniature of the study for tests and smoke runs: tiny sizes, same steps.</summary>
    public static DemoPlan Mini { get; } = new()
    {
        Name = "mini",
        TrainImages = 128,
        Epochs = 1,
        BatchSize = 64,
        InnerSteps = 2,
        EvalPoints = 32,
        AutoAttackPoints = 4,
        EvalBatchSize = 32,
    };

    public static DemoPlan Get(string name) => name.Trim().ToLowerInvariant() switch
    {
        "quick" => Quick,
        "full" => Full,
        "mini" => Mini,
        _ => throw new ArgumentException($"unknown demo plan '{name}' (quick, full, mini)"),
    };

    public static DemoPlan Full { get; } = new()
    {
        Name = "full",
        TrainImages = null,
        Epochs = 10,
        EvalPoints = 10_000,
        AutoAttackPoints = 10_000,
    };
}

using AdaptSharp.Training;

namespace AdaptSharp.Study;

/// <summary>
/// One trained artifact of the study and how it is evaluated. <see cref="Group"/> names the table it belongs to
/// (main, seeds, or an ablation); <see cref="Prompts"/>/<see cref="Trainable"/> use the CLI forms (deep:5, head,patch,
/// full, linear). Every run is evaluated on the same test points with the main suite; <see cref="AutoAttack"/> and
/// <see cref="Rays"/> add the expensive columns.
/// </summary>
internal sealed record StudyRun
{
    public required string Id { get; init; }

    public required string Group { get; init; }

    /// <summary>Row label in the tables.</summary>
    public required string Label { get; init; }

    public ObjectiveKind Method { get; init; } = ObjectiveKind.AdaptCe;

    public string Prompts { get; init; } = "deep:4";

    public string Trainable { get; init; } = "head,patch";

    public double Lambda { get; init; } = 6.0;

    public long Seed { get; init; }

    /// <summary>Peak learning rate; null = the plan's for this kind of training.</summary>
    public double? LearningRate { get; init; }

    public bool AutoAttack { get; init; }

    public bool Rays { get; init; }

    public bool FullFineTuning => Trainable.Trim().Equals("full", StringComparison.OrdinalIgnoreCase);

    public bool LinearProbing => Trainable.Trim().Equals("linear", StringComparison.OrdinalIgnoreCase);
}

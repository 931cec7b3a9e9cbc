using AdaptSharp.Attacks;
using AdaptSharp.Data;

namespace AdaptSharp.Training;

/// <summary>
/// A complete training job as the CLI (or a library user) states it: where the backbone and data come from,
/// the recipe (with overrides already applied), where the output and the run folder go.
/// <see cref="BackbonePath"/> null builds <see cref="ModelPreset"/> with random weights (pretraining from scratch).
/// </summary>
public sealed record TrainingJobSpec
{
    public string? BackbonePath { get; init; }
    public string? ModelPreset { get; init; }
    public required DatasetSpec Data { get; init; }
    public required TrainingRecipe Recipe { get; init; }
    /// <summary>Prompt file (prompt tuning, linear probing) or backbone file (full fine-tuning, pretraining).</summary>
    public required string OutputPath { get; init; }
    /// <summary>Run folder (metrics.jsonl, config.json, checkpoint); null = next to the output, "&lt;output&gt;.run".</summary>
    public string? RunDirectory { get; init; }
    /// <summary>Continue from the run folder's checkpoint.</summary>
    public bool Resume { get; init; }
    public string Device { get; init; } = "auto";
    public long Seed { get; init; }
    /// <summary>Where the objective's inner attack runs; null = the method's own.</summary>
    public AttackSource? AttackSource { get; init; }
    /// <summary>Use only the first N training images (quick runs).</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Also evaluate prompt-agnostic PGD each epoch.</summary>
    public bool EvaluatePromptAgnostic { get; init; }
    /// <summary>Background batches prepared while the model runs.</summary>
    public int Prefetch { get; init; } = 2;
    /// <summary>The command that started the job, recorded in a backbone file's metadata so it can be reproduced.</summary>
    public string? CommandLine { get; init; }

    public string ResolvedRunDirectory =>
        RunDirectory ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(OutputPath))!, Path.GetFileNameWithoutExtension(OutputPath) + ".run");
}

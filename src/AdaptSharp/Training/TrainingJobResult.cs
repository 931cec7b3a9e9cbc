using AdaptSharp.Models;

namespace AdaptSharp.Training;

/// <summary>What a <see cref="TrainingJob"/> produced. <see cref="OutputPath"/> is null when it was interrupted.</summary>
public sealed record TrainingJobResult(
    string? OutputPath,
    string? ExtraPromptPath,
    string RunDirectory,
    TrainingResult Training,
    ParameterCount Parameters,
    string? BackboneFingerprint);

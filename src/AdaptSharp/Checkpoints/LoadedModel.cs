using AdaptSharp.Models;

namespace AdaptSharp.Checkpoints;

/// <summary>A model assembled from a <see cref="ModelRequest"/>, with where its weights came from.</summary>
public sealed record LoadedModel(
    VisionTransformer Model,
    string Source,
    string? BackboneFingerprint,
    PromptFileInfo? PromptFile,
    ImportReport? Import) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

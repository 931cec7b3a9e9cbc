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
    /// <summary>
    /// What the user should read about how the model was assembled (class count taken from the checkpoint's head,
    /// import adaptations), one or two short lines; empty when the checkpoint was used as is.
    /// </summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    public void Dispose() => Model.Dispose();
}

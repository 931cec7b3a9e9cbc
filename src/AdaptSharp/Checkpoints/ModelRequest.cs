using AdaptSharp.Models;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// What a user names to get a model: a backbone file and/or a preset, optional overrides, and prompts given
/// as a layout ("deep:25", "shallow:10", "none") or a prompt file. Which of the two <see cref="Prompts"/> is
/// decided by its spelling only (<see cref="PromptConfig.IsLayout"/>), never by whether a file of that name exists.
/// <see cref="Classes"/> null takes the class count from the checkpoint's head (as timm does), else from the
/// backbone's config or the preset.
/// </summary>
public sealed record ModelRequest(
    string? Backbone,
    string? Preset,
    int? ImageSize = null,
    int? Classes = null,
    string Prompts = "none",
    PromptInit Init = PromptInit.Vpt,
    long Seed = 0)
{
    /// <summary>Inference (the default) refuses a re-initialised head and random weights.</summary>
    public ModelUse Use { get; init; } = ModelUse.Inference;
}

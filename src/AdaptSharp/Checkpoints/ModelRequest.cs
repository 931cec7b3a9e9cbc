using AdaptSharp.Models;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// What a user names to get a model: a backbone file and/or a preset, optional overrides, and prompts given
/// as a layout ("deep:25", "shallow:10", "none") or a prompt file.
/// </summary>
public sealed record ModelRequest(
    string? Backbone,
    string? Preset,
    int? ImageSize = null,
    int? Classes = null,
    string Prompts = "none",
    PromptInit Init = PromptInit.Vpt,
    long Seed = 0);

using AdaptSharp.Checkpoints;
using AdaptSharp.Models;

namespace AdaptSharp.Evaluation;

/// <summary>
/// What a report says was evaluated, hashed with <see cref="BackboneFingerprint"/>: the backbone hash covers every
/// weight except the prompts (equal to the backbone file's fingerprint when only prompts were tuned; it changes
/// when a prompt file also replaced the head or patch embedding), the prompt hash covers the prompt tokens.
/// </summary>
public static class ModelFingerprint
{
    public static string Backbone(VisionTransformer model) =>
        BackboneFingerprint.Of(model.state_dict().Where(kv => kv.Key != VisionTransformer.PromptParameterName));

    /// <summary>Null when the model has no prompts.</summary>
    public static string? Prompts(VisionTransformer model) =>
        model.PromptTokens is { } p ? BackboneFingerprint.Of([new(VisionTransformer.PromptParameterName, p)]) : null;
}

using AdaptSharp.Checkpoints;
using AdaptSharp.Models;
using static TorchSharp.torch;

namespace AdaptSharp.Evaluation;

/// <summary>
/// What a report says was evaluated, hashed with <see cref="BackboneFingerprint"/>: the backbone hash covers every
/// weight except the prompts (equal to the backbone file's fingerprint when only prompts were tuned; it changes
/// when a prompt file also replaced the head or patch embedding), the prompt hash covers the prompt tokens.
/// </summary>
internal static class ModelFingerprint
{
    /// <summary>The fingerprint <see cref="BackboneFile.Save"/> would record for this model's current weights.</summary>
    public static string Backbone(VisionTransformer model)
    {
        // The scope also frees the intermediate tensors the export creates.
        using var scope = NewDisposeScope();
        return BackboneFingerprint.Of(TimmCheckpoint.ExportState(model));
    }

    /// <summary>Null when the model has no prompts.</summary>
    public static string? Prompts(VisionTransformer model) =>
        model.PromptTokens is { } p ? BackboneFingerprint.Of([new(VisionTransformer.PromptParameterName, p)]) : null;
}

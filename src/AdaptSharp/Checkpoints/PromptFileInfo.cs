using AdaptSharp.Models;

namespace AdaptSharp.Checkpoints;

/// <summary>
/// What a prompt file records besides its tensors. On save the trainer fills the training facts; the model config
/// and prompt layout are taken from the model. On load every field is read back from the file.
/// </summary>
public sealed record PromptFileInfo
{
    /// <summary>Fingerprint of the backbone file the prompts were trained on (see <see cref="BackboneFingerprint"/>).</summary>
    public required string BackboneFingerprint { get; init; }

    /// <summary>Which groups were trained; decides which tensors the file holds.</summary>
    public TrainableSet Trainable { get; init; } = TrainableSet.Prompts;

    /// <summary>Training method, free-form (e.g. "adapt-ce lambda=6").</summary>
    public string Method { get; init; } = "";

    /// <summary>Threat model trained against, free-form (e.g. "linf eps=8/255 pgd-10").</summary>
    public string ThreatModel { get; init; } = "";

    /// <summary>Further string entries stored as metadata as is (keys must not be "format" or start with "adaptsharp.").</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    /// <summary>The model architecture (set when read from a file).</summary>
    public VitConfig? Config { get; init; }

    /// <summary>The prompt layout (set when read from a file).</summary>
    public PromptConfig? Prompts { get; init; }

    /// <summary>Tensor names stored in the file (set when read from a file).</summary>
    public IReadOnlyList<string> TensorNames { get; init; } = [];
}

using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>
/// One objective evaluation: the scalar loss (with its graph to the trainable parameters) and, when the
/// objective computed them, detached logits on the clean and on the adversarial batch (for accuracies).
/// </summary>
public sealed record ObjectiveOutput(Tensor Loss, Tensor? CleanLogits, Tensor? AdversarialLogits) : IDisposable
{
    public void Dispose()
    {
        Loss.Dispose();
        CleanLogits?.Dispose();
        AdversarialLogits?.Dispose();
    }
}

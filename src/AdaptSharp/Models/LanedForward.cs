using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// A view's forward as <see cref="Body"/> then <see cref="Head"/>, where the body takes every image on its own (no batch
/// statistics, no randomness), so that slices of a batch can go through it side by side
/// (<see cref="Runtime.BatchLanes"/>) while the head, whose library product may round differently for fewer rows, still
/// sees the whole batch. One instance per model and view kind: whether its lanes give the whole batch's bits is checked
/// once per instance (<see cref="Runtime.AdaptiveThreads"/>).
/// </summary>
internal sealed class LanedForward(Func<Tensor, Tensor> body, Func<Tensor, Tensor> head)
{
    public Func<Tensor, Tensor> Body { get; } = body;

    public Func<Tensor, Tensor> Head { get; } = head;
}

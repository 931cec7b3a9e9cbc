using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// A view's forward as <paramref name="Body"/> then <paramref name="Head"/>, where the body takes every image on its own
/// (no batch statistics, no randomness), so that slices of a batch can go through it side by side
/// (<see cref="Runtime.BatchLanes"/>) and the head, whose library product may round differently for fewer rows, still
/// sees the whole batch. <paramref name="Key"/> names the network and its prompts (one per model and view kind): whether
/// the lanes give the whole batch's bits is checked once per key.
/// </summary>
internal sealed record LanedForward(object Key, Func<Tensor, Tensor> Body, Func<Tensor, Tensor> Head);

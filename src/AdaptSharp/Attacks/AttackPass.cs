using static TorchSharp.torch;

namespace AdaptSharp.Attacks;

/// <summary>
/// One pass of <see cref="Attack"/>'s loop over the points still robust: their indices, clean images and labels, their
/// target classes (targeted attacks), the rows stored for them so far, the restart number and whether this is the
/// attack's very first pass.
/// </summary>
internal readonly record struct AttackPass(Tensor Indices, Tensor X, Tensor Y, Tensor? Targets, Tensor Previous, int Restart, bool First);

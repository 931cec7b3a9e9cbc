using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>
/// What an attack sees of a model: images in [0,1] (N,C,H,W) in, logits (N,K) out.
/// Whether an attack is adaptive is only a matter of which view it is handed
/// (the prompted model f_P, or the same network without prompts f_0).
/// </summary>
public sealed class ModelView
{
    private readonly Func<Tensor, Tensor> forward;

    public ModelView(string name, Func<Tensor, Tensor> forward)
    {
        Name = name;
        this.forward = forward;
    }

    public string Name { get; }

    /// <summary>Logits of the images; one attack step for <see cref="Runtime.AdaptiveThreads"/>.</summary>
    public Tensor Forward(Tensor images)
    {
        using var step = Runtime.AdaptiveThreads.BeginStep(images, forward);
        return forward(images);
    }
}

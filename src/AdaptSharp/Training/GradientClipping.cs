using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>Global gradient-norm clipping over every trainable tensor, prompts included.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales all gradients by min(1, maxNorm / (norm + 1e-6)) where norm is the L2 norm of all of them
    /// concatenated (torch.nn.utils.clip_grad_norm_). Returns the norm before clipping.
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return 0.0;
        var total = stack(grads.Select(g => g.norm()).ToArray()).norm();
        var coefficient = (maxNorm / (total + 1e-6)).clamp_max(1.0);
        foreach (var g in grads)
            g.mul_(coefficient);
        return total.ToDouble();
    }

    /// <summary>The global L2 norm of the parameters' gradients.</summary>
    public static double GlobalNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        return grads.Count == 0 ? 0.0 : stack(grads.Select(g => g.norm()).ToArray()).norm().ToDouble();
    }
}

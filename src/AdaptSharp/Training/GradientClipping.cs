using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Training;

/// <summary>Global gradient-norm clipping over every trainable tensor, prompts included, and the finiteness checks of a step.</summary>
internal static class GradientClipping
{
    /// <summary>
    /// torch.nn.utils.clip_grad_norm_: scales all gradients by min(1, maxNorm / (norm + 1e-6)) where norm is the L2
    /// norm of all of them together. Returns the norm before clipping.
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var withGradients = parameters.Where(p => p.grad is not null).ToList();
        return withGradients.Count == 0 ? 0.0 : nn.utils.clip_grad_norm_(withGradients, maxNorm);
    }

    /// <summary>The global L2 norm of the parameters' gradients, leaving them unchanged (for reporting).</summary>
    public static double GlobalNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        return grads.Count == 0 ? 0.0 : stack(grads.Select(g => g.norm()).ToArray()).norm().ToDouble();
    }

    /// <summary>The name of the first parameter holding a NaN or infinity, or null.</summary>
    public static string? FirstNonFinite(IEnumerable<(string Name, Parameter Parameter)> parameters)
    {
        using var scope = NewDisposeScope();
        foreach (var (name, p) in parameters)
        {
            if (!p.isfinite().all().item<bool>())
                return name;
        }
        return null;
    }
}

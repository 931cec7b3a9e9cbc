using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Attacks;

/// <summary>Tiny frozen models wrapped as ModelViews for attack tests.</summary>
internal static class TinyModels
{
    /// <summary>logits = W flatten(x) + b, weights frozen.</summary>
    public static ModelView Linear(Tensor weight, Tensor bias, string name = "linear")
    {
        var w = weight.detach().clone();
        var b = bias.detach().clone();
        return new ModelView(name, x => x.flatten(1).matmul(w.t()) + b);
    }

    /// <summary>A seeded MLP (flatten -> Linear -> ReLU -> Linear) with frozen parameters, in eval mode.</summary>
    public static ModelView Mlp(long inputs, long hidden, long classes, long seed, string name = "mlp", double scale = 1.0)
    {
        var net = nn.Sequential(
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(inputs, hidden)),
            ("relu", nn.ReLU()),
            ("fc2", nn.Linear(hidden, classes)));
        // initialise from a local generator: xunit runs test classes in parallel and the global RNG is shared
        var g = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var p in net.parameters())
            {
                var bound = 1.0 / Math.Sqrt(p.dim() == 2 ? p.shape[1] : p.shape[0]);
                p.copy_((rand(p.shape, generator: g) * 2 - 1) * (bound * scale));
                p.requires_grad_(false);
            }
        }
        net.eval();
        return new ModelView(name, x => net.forward(x));
    }

    /// <summary>A model that ignores its input and always returns the same logits.</summary>
    public static ModelView Constant(float[] logits)
    {
        var z = tensor(logits);
        return new ModelView("constant", x => z.unsqueeze(0).expand(x.shape[0], -1) + 0.0 * x.flatten(1).sum(1, keepdim: true));
    }

    /// <summary>Seeded uniform images in [low, high).</summary>
    public static Tensor Images(long n, long[] shape, long seed, double low = 0.0, double high = 1.0)
    {
        var g = new Generator((ulong)seed);
        var full = new long[shape.Length + 1];
        full[0] = n;
        shape.CopyTo(full, 1);
        return rand(full, generator: g) * (high - low) + low;
    }

    public static Tensor Predict(ModelView model, Tensor x)
    {
        using var _ = no_grad();
        return model.Forward(x).argmax(1);
    }
}

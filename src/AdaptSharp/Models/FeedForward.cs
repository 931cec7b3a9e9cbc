using AdaptSharp.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AdaptSharp.Models;

/// <summary>fc1 -> exact (erf) GELU -> fc2; fused over blocks of rows when its parameters are frozen and the AVX-512 kernel is the route (<see cref="GemmFeedForwardFunction"/>).</summary>
internal sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public FeedForward(int width, int hidden) : base(nameof(FeedForward))
    {
        fc1 = nn.Linear(width, hidden);
        fc2 = nn.Linear(hidden, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (GemmFeedForwardFunction.Takes(x, fc1, fc2))
        {
            using var scope = NewDisposeScope();
            var rows = x.reshape(-1, x.shape[^1]).contiguous();
            return GemmFeedForwardFunction.Apply(rows, new(fc1.weight!, fc1.bias, fc2.weight!, fc2.bias))
                .reshape(x.shape).MoveToOuterDisposeScope();
        }
        using var h = GemmRouting.Linear(x, fc1.weight!, fc1.bias);
        using var a = nn.functional.gelu(h);
        return GemmRouting.Linear(a, fc2.weight!, fc2.bias);
    }
}

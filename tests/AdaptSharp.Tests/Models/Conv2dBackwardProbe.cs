using AdaptSharp.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Tests.Models;

/// <summary>
/// Measures, once per test run, libtorch's conv2d against the float64 reference on the shape where the upstream
/// backward defect was seen (1 channel, 28x28, patch 7 = stride), and AdaptSharp's patch GEMM on the same tensors.
/// Ratios are errors over the float32 rounding bound: above 1 is a wrong result.
/// </summary>
internal static class Conv2dBackwardProbe
{
    public sealed record Measurement(double ForwardRatio, double BackwardRatio, double FastPathBackwardRatio);

    private static readonly Lazy<Measurement> Lazy = new(Measure);

    public static Measurement Measured => Lazy.Value;

    private static Measurement Measure()
    {
        using var scope = NewDisposeScope();
        const int n = 2, channels = 1, size = 28, patch = 7, width = 24;
        manual_seed(3);
        var embed = new PatchEmbedding(channels, width, patch);
        var x = rand(n, channels, size, size);
        x.requires_grad_(true);
        var conv = F.conv2d(x, embed.Projection.weight!, embed.Projection.bias, strides: new long[] { patch, patch }).flatten(2).transpose(1, 2);
        var convGradient = autograd.grad(new[] { conv.square().sum() }, new[] { x })[0];
        var fast = embed.forward(x);
        var fastGradient = autograd.grad(new[] { fast.square().sum() }, new[] { x })[0];

        var reference = new PatchProjectionReference(n, channels, size, patch, width);
        var kernel = Floats(embed.Projection.weight!);
        var (y, yMagnitude) = reference.Forward(Floats(x), kernel, Floats(embed.Projection.bias!));
        var (g, gMagnitude) = reference.InputGradientOfSumOfSquares(y, yMagnitude, kernel);
        return new Measurement(
            reference.WorstRatio(Floats(conv), y, yMagnitude),
            reference.WorstRatio(Floats(convGradient), g, gMagnitude),
            reference.WorstRatio(Floats(fastGradient), g, gMagnitude));
    }

    private static float[] Floats(Tensor t) => t.detach().contiguous().data<float>().ToArray();
}

using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// What the attention functions from the packed qkv projection (B, T, 3·W) to the merged heads (B, T, W) are checked
/// against: softmax(QKᵀ/√d)V in float64 through libtorch's plain products, and the gradient of Σ output ⊙ weights with
/// respect to the packed input.
/// </summary>
internal static class PackedAttentionReference
{
    public static (Tensor Output, Tensor Gradient) Of(Tensor packed, Tensor weights, int heads)
    {
        var (batch, tokens, width) = (packed.shape[0], packed.shape[1], packed.shape[2] / 3);
        var dim = width / heads;
        var input = packed.to(float64).requires_grad_(true);
        var parts = input.reshape(batch, tokens, 3, heads, dim).permute(2, 0, 3, 1, 4).unbind(0);
        var scores = parts[0].matmul(parts[1].transpose(-2, -1)) / Math.Sqrt(dim);
        var output = scores.softmax(-1).matmul(parts[2]).transpose(1, 2).reshape(batch, tokens, width);
        var gradient = autograd.grad([(output * weights.to(float64)).sum()], [input])[0];
        return (output.detach(), gradient);
    }

    /// <summary>
    /// <paramref name="attention"/> (packed input -> merged heads) against <see cref="Of"/>: output and packed-input
    /// gradient within float32 rounding of their magnitudes at 1, 2 and 3 torch threads, the same bits at each, and the
    /// same output without autograd. Sums of up to T and d terms of values of order one with a softmax between: a few 1e-6
    /// of the magnitude is rounding; a wrong product, lane or layout is off by the magnitude itself.
    /// </summary>
    public static void AssertMatches(Func<Tensor, Tensor> attention, Tensor packed, Tensor weights, int heads, string label)
    {
        var (exact, exactGradient) = Of(packed, weights, heads);
        var outputBound = 1e-5 * exact.abs().max().ToDouble();
        var gradientBound = 1e-5 * exactGradient.abs().max().ToDouble();
        using var restore = new ThreadCountRestore();
        Tensor? firstOutput = null, firstGradient = null;
        foreach (var threads in new[] { 1, 2, 3 })
        {
            set_num_threads(threads);
            var input = packed.clone().requires_grad_(true);
            var output = attention(input);
            var gradient = autograd.grad([(output * weights).sum()], [input])[0];
            var outputError = (output.to(float64) - exact).abs().max().ToDouble();
            var gradientError = (gradient.to(float64) - exactGradient).abs().max().ToDouble();
            Assert.True(outputError <= outputBound, $"{label}, {threads} threads: output error {outputError:G3} > {outputBound:G3}");
            Assert.True(gradientError <= gradientBound, $"{label}, {threads} threads: gradient error {gradientError:G3} > {gradientBound:G3}");
            firstOutput ??= output;
            firstGradient ??= gradient;
            Assert.True(output.equal(firstOutput).all().item<bool>(), $"{label}: output at {threads} threads differs from 1 thread");
            Assert.True(gradient.equal(firstGradient).all().item<bool>(), $"{label}: gradient at {threads} threads differs from 1 thread");
            using (no_grad())
                Assert.True(attention(packed).equal(firstOutput).all().item<bool>(), $"{label}: no_grad output differs");
        }
    }
}

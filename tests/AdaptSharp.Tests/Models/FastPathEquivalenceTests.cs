using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AdaptSharp.Tests.Models;

/// <summary>The speed paths (patch GEMM, explicit attention for short sequences) compute what the reference ops compute.</summary>
public class FastPathEquivalenceTests
{
    [Theory]
    [InlineData(1, 28, 7)]
    [InlineData(3, 32, 16)]
    public void PatchEmbeddingEqualsTheStridedConvolutionWithItsGradient(int channels, int size, int patch)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var embed = new PatchEmbedding(channels, 24, patch);
        var x = rand(2, channels, size, size);
        x.requires_grad_(true);
        var fast = embed.forward(x);
        var conv = embed.Projection;
        var reference = F.conv2d(x, conv.weight!, conv.bias, strides: new long[] { patch, patch }).flatten(2).transpose(1, 2);
        Assert.Equal(reference.shape, fast.shape);
        Assert.True(fast.allclose(reference, rtol: 1e-5, atol: 1e-5));
        var gFast = autograd.grad(new[] { fast.square().sum() }, new[] { x }, retain_graph: true)[0];
        var gRef = autograd.grad(new[] { reference.square().sum() }, new[] { x })[0];
        Assert.True(gFast.allclose(gRef, rtol: 1e-4, atol: 1e-5));
    }

    [Theory]
    [InlineData(10)]   // explicit softmax(QK^T)V path
    [InlineData(70)]   // scaled_dot_product_attention path
    public void SelfAttentionEqualsScaledDotProductAttention(int tokens)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        const int width = 16, heads = 2;
        var attention = new SelfAttention(width, heads);
        var p = attention.named_parameters().ToDictionary(t => t.name, t => (Tensor)t.parameter);
        var x = randn(3, tokens, width);
        x.requires_grad_(true);
        var fast = attention.forward(x);

        var qkv = F.linear(x, p["qkv.weight"], p["qkv.bias"]).reshape(3, tokens, 3, heads, width / heads).permute(2, 0, 3, 1, 4);
        var merged = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]).transpose(1, 2).reshape(3, tokens, width);
        var reference = F.linear(merged, p["proj.weight"], p["proj.bias"]);
        Assert.True(fast.allclose(reference, rtol: 1e-5, atol: 1e-5));
        var gFast = autograd.grad(new[] { fast.square().sum() }, new[] { x }, retain_graph: true)[0];
        var gRef = autograd.grad(new[] { reference.square().sum() }, new[] { x })[0];
        Assert.True(gFast.allclose(gRef, rtol: 1e-4, atol: 1e-5));
    }
}

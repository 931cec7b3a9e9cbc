using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// Multi-head attention softmax(Q·Kᵀ/√d)·V straight from the packed qkv projection (B, T, 3·W; per token q, k, v, each
/// head after head, as timm lays them out) to the merged heads (B, T, W), with its six per-head products (two forward,
/// four backward) done by the route's library (<see cref="GemmLibrary"/>) and the softmax and its backward by libtorch, as a
/// TorchSharp autograd function. The products read and write the heads in place through the GEMM's row strides, so
/// no head is copied out, permuted or stacked back. On an AMD EPYC with OpenBLAS this is 13.4 ms against 17.6 ms for
/// libtorch's scaled_dot_product_attention, forward and backward of a vit-small block at batch 4 and 222 tokens
/// (docs/performance.md). Each (image, head) product is one single-threaded library call, the calls shared out over
/// torch's threads, so the result is the same bits at every thread count.
/// </summary>
internal sealed class GemmAttentionFunction : autograd.SingleTensorFunction<GemmAttentionFunction>
{
    private const string ShapeKey = "shape";

    public override string Name => "GemmAttention";

    /// <summary>Attention of <paramref name="packed"/> (B, T, 3·W, contiguous fp32 CPU) with <paramref name="heads"/> heads.</summary>
    public static Tensor Apply(GemmLibrary library, Tensor packed, int heads)
    {
        if (packed.requires_grad && is_grad_enabled())
            return apply(library, packed, heads);
        var merged = Forward(library, packed, heads, out var probabilities);
        probabilities.Dispose();
        return merged;
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (library, packed, heads) = ((GemmLibrary)vars[0], (Tensor)vars[1], (int)vars[2]);
        var merged = Forward(library, packed, heads, out var probabilities);
        ctx.save_for_backward([packed, probabilities]);
        ctx.save_data(ShapeKey, (library, heads));
        return merged;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var (packed, probabilities) = (saved[0], saved[1]);
        var (library, heads) = ((GemmLibrary, int))ctx.get_data(ShapeKey);
        var shape = AttentionHeads.Of(packed, heads);
        using var dOut = gradOutput.contiguous();
        using var dProbabilities = empty(shape.B, heads, shape.T, shape.T, dtype: ScalarType.Float32);
        var dPacked = empty(shape.B, shape.T, 3 * shape.W, dtype: ScalarType.Float32);
        var (qkv, p, o, dp, dqkv) = (AttentionHeads.Address(packed), AttentionHeads.Address(probabilities), AttentionHeads.Address(dOut), AttentionHeads.Address(dProbabilities), AttentionHeads.Address(dPacked));
        shape.ForEach((image, head) =>
        {
            // dV = Pᵀ·dO and dP = dO·Vᵀ
            library.Multiply(true, false, shape.T, shape.D, shape.T, 1f, shape.Scores(p, image, head, shape.T), shape.T,
                shape.Output(o, image, head), shape.W, 0f, shape.Head(dqkv, image, 2, head), 3 * shape.W);
            library.Multiply(false, true, shape.T, shape.T, shape.D, 1f, shape.Output(o, image, head), shape.W,
                shape.Head(qkv, image, 2, head), 3 * shape.W, 0f, shape.Scores(dp, image, head, shape.T), shape.T);
        });
        // The softmax's backward, as libtorch's: dS = (dP − rowsum(dP ⊙ P)) ⊙ P, in place in dP (row-wise, the same at
        // every thread count).
        using (var weighted = dProbabilities.mul(probabilities))
        using (var rowSums = weighted.sum(-1, keepdim: true))
            dProbabilities.sub_(rowSums).mul_(probabilities);
        var scale = shape.Scale;
        shape.ForEach((image, head) =>
        {
            // dQ = dS·K/√d and dK = dSᵀ·Q/√d
            library.Multiply(false, false, shape.T, shape.D, shape.T, scale, shape.Scores(dp, image, head, shape.T), shape.T,
                shape.Head(qkv, image, 1, head), 3 * shape.W, 0f, shape.Head(dqkv, image, 0, head), 3 * shape.W);
            library.Multiply(true, false, shape.T, shape.D, shape.T, scale, shape.Scores(dp, image, head, shape.T), shape.T,
                shape.Head(qkv, image, 0, head), 3 * shape.W, 0f, shape.Head(dqkv, image, 1, head), 3 * shape.W);
        });
        // One gradient per forward argument; the library and the head count are not tensors.
        return [null!, dPacked, null!];
    }

    /// <summary>The merged heads (B, T, W) and the attention probabilities (B, H, T, T) the backward reads.</summary>
    private static Tensor Forward(GemmLibrary library, Tensor packed, int heads, out Tensor probabilities)
    {
        var shape = AttentionHeads.Of(packed, heads);
        using var scores = empty(shape.B, heads, shape.T, shape.T, dtype: ScalarType.Float32);
        var merged = empty(shape.B, shape.T, shape.W, dtype: ScalarType.Float32);
        var (qkv, s) = (AttentionHeads.Address(packed), AttentionHeads.Address(scores));
        var scale = shape.Scale;
        shape.ForEach((image, head) =>
            library.Multiply(false, true, shape.T, shape.T, shape.D, scale, shape.Head(qkv, image, 0, head), 3 * shape.W,
                shape.Head(qkv, image, 1, head), 3 * shape.W, 0f, shape.Scores(s, image, head, shape.T), shape.T));
        probabilities = scores.softmax(-1);
        var (p, o) = (AttentionHeads.Address(probabilities), AttentionHeads.Address(merged));
        shape.ForEach((image, head) =>
            library.Multiply(false, false, shape.T, shape.D, shape.T, 1f, shape.Scores(p, image, head, shape.T), shape.T,
                shape.Head(qkv, image, 2, head), 3 * shape.W, 0f, shape.Output(o, image, head), shape.W));
        return merged;
    }
}

using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// Multi-head attention softmax(Q·Kᵀ/√d)·V straight from the packed qkv projection (B, T, 3·W; per token q, k, v, each
/// head after head, as timm lays them out) to the merged heads (B, T, W), with its six per-head products (two forward,
/// four backward) done by the route's library (<see cref="GemmLibrary"/>), as a TorchSharp autograd function. Each
/// (image, head) pair's work runs at once on one thread: its products, and between them the softmax or its backward
/// (<see cref="RowSoftmax"/>) on the head's score block while it is in cache (2-4% of vit-small's attack step faster than
/// libtorch's softmax over all heads' blocks). The products read and write the heads in place through the GEMM's row
/// strides, so no head is copied out, permuted or stacked back. On an AMD EPYC with OpenBLAS this was 13.4 ms against
/// 17.6 ms for libtorch's scaled_dot_product_attention, forward and backward of a vit-small block at batch 4 and 222
/// tokens (docs/performance.md). The pairs are shared out over torch's threads, so the result is the same bits at every
/// thread count.
/// </summary>
internal sealed unsafe class GemmAttentionFunction : autograd.SingleTensorFunction<GemmAttentionFunction>
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
        var dPacked = empty(shape.B, shape.T, 3 * shape.W, dtype: ScalarType.Float32);
        var (qkv, p, o, dqkv) = (AttentionHeads.Address(packed), AttentionHeads.Address(probabilities), AttentionHeads.Address(dOut), AttentionHeads.Address(dPacked));
        var (t, padded, scale) = (shape.T, RowSoftmax.PaddedLength(shape.T), shape.Scale);
        shape.ForEach((image, head) =>
        {
            var scores = shape.Scores(p, image, head, padded);
            var dp = (nint)ThreadScratch.Get(ThreadScratch.Slot.ScoreGradient, (long)t * padded);
            // dV = Pᵀ·dO and dP = dO·Vᵀ
            library.Multiply(true, false, t, shape.D, t, 1f, scores, padded,
                shape.Output(o, image, head), shape.W, 0f, shape.Head(dqkv, image, 2, head), 3 * shape.W);
            library.Multiply(false, true, t, t, shape.D, 1f, shape.Output(o, image, head), shape.W,
                shape.Head(qkv, image, 2, head), 3 * shape.W, 0f, dp, padded);
            RowSoftmax.Backward(dp, scores, t, t);
            // dQ = dS·K/√d and dK = dSᵀ·Q/√d
            library.Multiply(false, false, t, shape.D, t, scale, dp, padded,
                shape.Head(qkv, image, 1, head), 3 * shape.W, 0f, shape.Head(dqkv, image, 0, head), 3 * shape.W);
            library.Multiply(true, false, t, shape.D, t, scale, dp, padded,
                shape.Head(qkv, image, 0, head), 3 * shape.W, 0f, shape.Head(dqkv, image, 1, head), 3 * shape.W);
        });
        // One gradient per forward argument; the library and the head count are not tensors.
        return [null!, dPacked, null!];
    }

    /// <summary>
    /// The merged heads (B, T, W) and the attention probabilities the backward reads, (B, H, T, T rounded up to whole
    /// vectors: <see cref="RowSoftmax.PaddedLength"/>).
    /// </summary>
    private static Tensor Forward(GemmLibrary library, Tensor packed, int heads, out Tensor probabilities)
    {
        var shape = AttentionHeads.Of(packed, heads);
        var (t, padded, scale) = (shape.T, RowSoftmax.PaddedLength(shape.T), shape.Scale);
        probabilities = empty(shape.B, heads, t, padded, dtype: ScalarType.Float32);
        var merged = empty(shape.B, t, shape.W, dtype: ScalarType.Float32);
        var (qkv, p, o) = (AttentionHeads.Address(packed), AttentionHeads.Address(probabilities), AttentionHeads.Address(merged));
        shape.ForEach((image, head) =>
        {
            var scores = shape.Scores(p, image, head, padded);
            library.Multiply(false, true, t, t, shape.D, scale, shape.Head(qkv, image, 0, head), 3 * shape.W,
                shape.Head(qkv, image, 1, head), 3 * shape.W, 0f, scores, padded);
            RowSoftmax.Forward(scores, t, t);
            library.Multiply(false, false, t, shape.D, t, 1f, scores, padded,
                shape.Head(qkv, image, 2, head), 3 * shape.W, 0f, shape.Output(o, image, head), shape.W);
        });
        return merged;
    }
}

using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// y = x·Wᵀ + b with every GEMM (forward, input gradient, weight gradient) done by a route's library
/// (<see cref="GemmLibrary"/>), as a TorchSharp autograd function so that autograd.grad and backward see it like
/// libtorch's linear. Inputs: x (M, K) contiguous fp32 CPU, W (N, K), b (N) or null. The backward computes only the
/// gradients the forward's inputs asked for (the attacks' input gradient never pays for dW). The bias is added by
/// libtorch outside the function: TorchSharp 0.107's custom functions lose the gradient of a third tensor input
/// ("returned an invalid gradient at index 2 - got []"), and the addition's own backward is the bias gradient.
/// </summary>
internal sealed class GemmLinearFunction : autograd.SingleTensorFunction<GemmLinearFunction>
{
    private const string LibraryKey = "library";
    private const string NeedsKey = "needs";

    public override string Name => "GemmLinear";

    /// <summary>
    /// y = x·Wᵀ + b through <paramref name="library"/>, differentiable where anything needs a gradient (else the plain
    /// product, <see cref="Forward"/>). A bias that needs no gradient (an attack's frozen layers) is added by the product
    /// as it stores each row; a trainable one by libtorch after it (the same sum either way: one rounding of product +
    /// bias).
    /// </summary>
    public static Tensor Apply(GemmLibrary library, Tensor x, Tensor weight, Tensor? bias)
    {
        var trainableBias = bias is not null && bias.requires_grad;
        if (!is_grad_enabled() || !(x.requires_grad || weight.requires_grad || trainableBias))
            return Forward(library, x, weight, bias);
        var product = apply(library, x, weight, new FrozenBias(trainableBias ? null : bias));
        if (!trainableBias)
            return product;
        using (product)
            return product.add(bias!);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var library = (GemmLibrary)vars[0];
        var (x, weight, frozenBias) = ((Tensor)vars[1], (Tensor)vars[2], ((FrozenBias)vars[3]).Values);
        // Keep only what the backward reads: dx needs W, dW needs x (an attack's frozen layers keep no activation alive).
        ctx.save_for_backward([weight.requires_grad ? x : null!, x.requires_grad ? weight : null!]);
        ctx.save_data(LibraryKey, library);
        ctx.save_data(NeedsKey, (x.requires_grad, weight.requires_grad, x.shape[0], weight.shape[0], weight.shape[1]));
        return Forward(library, x, weight, frozenBias);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var (x, weight) = (saved[0], saved[1]);
        var library = (GemmLibrary)ctx.get_data(LibraryKey);
        var (needsX, needsWeight, m, n, k) = ((bool, bool, long, long, long))ctx.get_data(NeedsKey);
        using var dy = gradOutput.contiguous();
        Tensor? dx = null, dw = null;
        if (needsX)
        {
            dx = empty(m, k, dtype: ScalarType.Float32);
            Gemm(library, false, false, m, k, n, dy, weight, null, dx);
        }
        if (needsWeight)
        {
            dw = empty(n, k, dtype: ScalarType.Float32);
            Gemm(library, true, false, n, k, m, dy, x, null, dw);
        }
        // One gradient per forward argument; the library and the frozen bias are not tensors and get none.
        return [null!, dx!, dw!, null!];
    }

    /// <summary>
    /// The forward product alone (no graph), also used under no_grad; its rows cut into blocks for
    /// <paramref name="plannedThreads"/> threads (default: <see cref="AdaptiveThreads.PlannedThreads"/>).
    /// </summary>
    public static Tensor Forward(GemmLibrary library, Tensor x, Tensor weight, Tensor? bias, int? plannedThreads = null)
    {
        var y = empty(x.shape[0], weight.shape[0], dtype: ScalarType.Float32);
        using var row = bias?.detach().contiguous();
        Gemm(library, false, true, x.shape[0], weight.shape[0], weight.shape[1], x, weight, row, y, plannedThreads);
        return y;
    }

    /// <summary>
    /// One product on <paramref name="library"/>, its rows shared out over torch's current thread count in blocks planned
    /// for <paramref name="plannedThreads"/> (default: <see cref="AdaptiveThreads.PlannedThreads"/>), see
    /// <see cref="GemmLibrary.MultiplyInBlocks"/>.
    /// </summary>
    private static void Gemm(GemmLibrary library, bool transposeA, bool transposeB, long m, long n, long k,
        Tensor a, Tensor b, Tensor? bias, Tensor c, int? plannedThreads = null)
    {
        var (rows, columns, inner) = (checked((int)m), checked((int)n), checked((int)k));
        library.MultiplyInBlocks(transposeA, transposeB, rows, columns, inner, AttentionHeads.Address(a), transposeA ? rows : inner,
            AttentionHeads.Address(b), transposeB ? inner : columns, 0f, AttentionHeads.Address(c),
            bias is null ? 0 : AttentionHeads.Address(bias), plannedThreads ?? AdaptiveThreads.PlannedThreads, get_num_threads());
    }

    /// <summary>A bias that needs no gradient, handed to the function as a non-tensor argument.</summary>
    private sealed record FrozenBias(Tensor? Values);
}

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
    /// product with the bias in C, <see cref="Forward"/>).
    /// </summary>
    public static Tensor Apply(GemmLibrary library, Tensor x, Tensor weight, Tensor? bias)
    {
        if (!is_grad_enabled() || !(x.requires_grad || weight.requires_grad || bias?.requires_grad == true))
            return Forward(library, x, weight, bias);
        var product = apply(library, x, weight);
        if (bias is null)
            return product;
        using (product)
            return product.add(bias);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var library = (GemmLibrary)vars[0];
        var (x, weight) = ((Tensor)vars[1], (Tensor)vars[2]);
        // Keep only what the backward reads: dx needs W, dW needs x (an attack's frozen layers keep no activation alive).
        ctx.save_for_backward([weight.requires_grad ? x : null!, x.requires_grad ? weight : null!]);
        ctx.save_data(LibraryKey, library);
        ctx.save_data(NeedsKey, (x.requires_grad, weight.requires_grad, x.shape[0], weight.shape[0], weight.shape[1]));
        return Forward(library, x, weight, null);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var (x, weight) = (saved[0], saved[1]);
        var library = (GemmLibrary)ctx.get_data(LibraryKey);
        var (needsX, needsWeight, m, n, k) = ((bool, bool, long, long, long))ctx.get_data(NeedsKey);
        var dy = gradOutput.contiguous();
        Tensor? dx = null, dw = null;
        if (needsX)
        {
            dx = empty(m, k, dtype: ScalarType.Float32);
            Gemm(library, false, false, m, k, n, dy, weight, 0f, dx);
        }
        if (needsWeight)
        {
            dw = empty(n, k, dtype: ScalarType.Float32);
            Gemm(library, true, false, n, k, m, dy, x, 0f, dw);
        }
        // One gradient per forward argument; the library argument is not a tensor and gets none.
        return [null!, dx!, dw!];
    }

    /// <summary>
    /// The forward product alone (no graph), also used under no_grad; its rows cut into blocks for
    /// <paramref name="plannedThreads"/> threads (default: <see cref="AdaptiveThreads.PlannedThreads"/>).
    /// </summary>
    public static Tensor Forward(GemmLibrary library, Tensor x, Tensor weight, Tensor? bias, int? plannedThreads = null)
    {
        var (m, n, k) = (x.shape[0], weight.shape[0], weight.shape[1]);
        // With a bias, C starts as the broadcast bias and the GEMM adds to it (beta 1), as addmm does.
        var y = bias is null ? empty(m, n, dtype: ScalarType.Float32) : bias.detach().expand(m, n).contiguous();
        Gemm(library, false, true, m, n, k, x, weight, bias is null ? 0f : 1f, y, plannedThreads);
        return y;
    }

    /// <summary>
    /// One product on <paramref name="library"/>, its rows shared out over torch's current thread count in blocks planned
    /// for <paramref name="plannedThreads"/> (default: <see cref="AdaptiveThreads.PlannedThreads"/>), see
    /// <see cref="GemmLibrary.MultiplyInBlocks"/>.
    /// </summary>
    private static void Gemm(GemmLibrary library, bool transposeA, bool transposeB, long m, long n, long k,
        Tensor a, Tensor b, float beta, Tensor c, int? plannedThreads = null)
    {
        var (rows, columns, inner) = (checked((int)m), checked((int)n), checked((int)k));
        library.MultiplyInBlocks(transposeA, transposeB, rows, columns, inner, AttentionHeads.Address(a), transposeA ? rows : inner,
            AttentionHeads.Address(b), transposeB ? inner : columns, beta, AttentionHeads.Address(c),
            plannedThreads ?? AdaptiveThreads.PlannedThreads, get_num_threads());
    }
}

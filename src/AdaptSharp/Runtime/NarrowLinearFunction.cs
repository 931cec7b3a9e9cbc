using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// y = x·Wᵀ + b on <see cref="NarrowGemm"/>, as a TorchSharp autograd function (forward and input gradient on the
/// kernel; a weight gradient, when asked for, by libtorch). Inputs: x (M, K) contiguous fp32 CPU, W (N, K). A frozen
/// bias starts the sums; a trainable one is added by libtorch outside the function (TorchSharp 0.107's custom functions
/// lose the gradient of a third tensor input, see <see cref="CblasLinearFunction"/>). Rows are shared out over torch's
/// threads; every row's sums are the same wherever it is computed, so the result is the same bits at every count.
/// </summary>
internal sealed class NarrowLinearFunction : autograd.SingleTensorFunction<NarrowLinearFunction>
{
    private const string NeedsKey = "needs";

    /// <summary>The longest inner dimension taken: a 32-column panel of B (K x 32 floats) stays in the L1 cache.</summary>
    public const int MaxInner = 256;

    /// <summary>Each thread's block is at least this many rows (smaller products run on the calling thread).</summary>
    private const int MinRowsPerThread = 96;

    public override string Name => "NarrowLinear";

    /// <summary>
    /// Whether a product with inner dimension <paramref name="k"/> and <paramref name="n"/> outputs is one this takes: the
    /// CPU has AVX-512 and both are multiples of 16 up to <see cref="MaxInner"/> (the input gradient's product has them
    /// swapped).
    /// </summary>
    public static bool Takes(long k, long n) =>
        NarrowGemm.Supported && k % 16 == 0 && n % 16 == 0 && k > 0 && n > 0 && k <= MaxInner && n <= MaxInner;

    /// <summary>y = x·Wᵀ + b, differentiable; x (M, K) contiguous fp32 CPU.</summary>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias)
    {
        var trainableBias = bias is not null && bias.requires_grad && is_grad_enabled();
        var start = trainableBias ? null : bias;
        var product = is_grad_enabled() && (x.requires_grad || weight.requires_grad)
            ? apply(x, weight, new FrozenBias(start))
            : Forward(x, weight, start);
        if (!trainableBias)
            return product;
        using (product)
            return product.add(bias!);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (x, weight, start) = ((Tensor)vars[0], (Tensor)vars[1], ((FrozenBias)vars[2]).Values);
        // Keep only what the backward reads: dx needs W, dW needs x.
        ctx.save_for_backward([weight.requires_grad ? x : null!, x.requires_grad ? weight : null!]);
        ctx.save_data(NeedsKey, (x.requires_grad, weight.requires_grad));
        return Forward(x, weight, start);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var (x, weight) = (saved[0], saved[1]);
        var (needsX, needsWeight) = ((bool, bool))ctx.get_data(NeedsKey);
        using var dy = gradOutput.contiguous();
        Tensor? dx = null, dw = null;
        if (needsX)
        {
            // dx (M, K) = dy (M, N) · W (N, K): W is already the row-major B of this product.
            using var w = weight.contiguous();
            dx = empty(dy.shape[0], w.shape[1], dtype: ScalarType.Float32);
            Multiply(dy, w, null, dx);
        }
        if (needsWeight)
            dw = dy.t().mm(x);
        // One gradient per forward argument; the frozen bias is not a tensor and gets none.
        return [dx!, dw!, null!];
    }

    /// <summary>The product alone (no graph), <paramref name="start"/> (N) or zero added.</summary>
    private static Tensor Forward(Tensor x, Tensor weight, Tensor? start)
    {
        using var transposed = weight.t().contiguous();
        using var bias = start?.detach().contiguous();
        var y = empty(x.shape[0], weight.shape[0], dtype: ScalarType.Float32);
        Multiply(x, transposed, bias, y);
        return y;
    }

    /// <summary>C = A·B + init for contiguous A (m, k), B (k, n), C (m, n), rows shared out over torch's threads.</summary>
    private static unsafe void Multiply(Tensor a, Tensor b, Tensor? init, Tensor c)
    {
        var (m, k, n) = (checked((int)a.shape[0]), checked((int)a.shape[1]), checked((int)b.shape[1]));
        var threads = Math.Clamp(m / MinRowsPerThread, 1, get_num_threads());
        var (pa, pb, pc) = (AttentionHeads.Address(a), AttentionHeads.Address(b), AttentionHeads.Address(c));
        var pi = init is null ? 0 : AttentionHeads.Address(init);
        void Rows(int first, int end) =>
            NarrowGemm.Multiply((float*)pa + ((nint)first * k), (float*)pb, (float*)pi, (float*)pc + ((nint)first * n), end - first, n, k);
        if (threads == 1)
        {
            Rows(0, m);
            return;
        }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => Rows(m * t / threads, m * (t + 1) / threads));
    }

    /// <summary>A bias that needs no gradient, handed to the function as a non-tensor argument.</summary>
    private sealed record FrozenBias(Tensor? Values);
}

using static TorchSharp.torch;

namespace AdaptSharp.Runtime;

/// <summary>
/// y = x·Wᵀ + b with every GEMM (forward, input gradient, weight gradient) done by a system BLAS
/// (<see cref="CblasLibrary"/>), as a TorchSharp autograd function so that autograd.grad and backward see it like
/// libtorch's linear. Inputs: x (M, K) contiguous fp32 CPU, W (N, K), b (N) or null. The backward computes only the
/// gradients the forward's inputs asked for (the attacks' input gradient never pays for dW). The bias is added by
/// libtorch outside the function: TorchSharp 0.107's custom functions lose the gradient of a third tensor input
/// ("returned an invalid gradient at index 2 - got []"), and the addition's own backward is the bias gradient.
/// </summary>
internal sealed class CblasLinearFunction : autograd.SingleTensorFunction<CblasLinearFunction>
{
    private const string LibraryKey = "library";
    private const string NeedsKey = "needs";

    public override string Name => "CblasLinear";

    /// <summary>
    /// y = x·Wᵀ + b through <paramref name="library"/>, differentiable where anything needs a gradient (else the plain
    /// product with the bias in C, <see cref="Forward"/>).
    /// </summary>
    public static Tensor Apply(CblasLibrary library, Tensor x, Tensor weight, Tensor? bias)
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
        var library = (CblasLibrary)vars[0];
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
        var library = (CblasLibrary)ctx.get_data(LibraryKey);
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
    public static Tensor Forward(CblasLibrary library, Tensor x, Tensor weight, Tensor? bias, int? plannedThreads = null)
    {
        var (m, n, k) = (x.shape[0], weight.shape[0], weight.shape[1]);
        // With a bias, C starts as the broadcast bias and the GEMM adds to it (beta 1), as addmm does.
        var y = bias is null ? empty(m, n, dtype: ScalarType.Float32) : bias.detach().expand(m, n).contiguous();
        Gemm(library, false, true, m, n, k, x, weight, bias is null ? 0f : 1f, y, plannedThreads);
        return y;
    }

    /// <summary>Each block of rows is at least this many rows (smaller products are one call; two calls of 64 rows cost 9% more than one of 128).</summary>
    private const int MinRowsPerBlock = 128;

    /// <summary>
    /// One product, its rows of C cut into equal blocks, each a single-threaded library call, run on up to torch's current
    /// thread count. The blocks depend on the planned count only, never on the current one: a library's sums for a row
    /// depend on where the row sits in its call (OpenBLAS's Haswell kernels: rows 12 apart from the call's start; its
    /// SkylakeX kernels and BLIS: their paths for small sizes), so blocks cut by the current count gave other bits when
    /// the adaptive count changed it. At one thread the blocks run one after another (0.2-1.3% slower than one call on
    /// the vit-small shapes). OpenBLAS's own threads scaled poorly (2 threads 1.23x one on the vit-small attack step, AMD
    /// EPYC) and cut the work by the count.
    /// </summary>
    private static unsafe void Gemm(CblasLibrary library, bool transposeA, bool transposeB, long m, long n, long k,
        Tensor a, Tensor b, float beta, Tensor c, int? plannedThreads = null)
    {
        var (rows, columns, inner) = (checked((int)m), checked((int)n), checked((int)k));
        var blocks = Math.Clamp(rows / MinRowsPerBlock, 1, plannedThreads ?? AdaptiveThreads.PlannedThreads);
        var threads = Math.Min(blocks, get_num_threads());
        fixed (byte* pa = a.bytes, pb = b.bytes, pc = c.bytes)
        {
            nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc;
            var (lda, ldb) = (transposeA ? rows : inner, transposeB ? inner : columns);
            void Block(int block)
            {
                var first = (int)((long)rows * block / blocks);
                var count = (int)((long)rows * (block + 1) / blocks) - first;
                // Row i of op(A) starts at A + i·lda, or at column i (A + i) when A is stored transposed.
                var blockA = ia + sizeof(float) * (transposeA ? first : (nint)first * lda);
                library.Multiply(transposeA, transposeB, count, columns, inner, 1f, blockA, lda, ib, ldb, beta, ic + sizeof(float) * (nint)first * columns, columns);
            }
            if (threads == 1)
            {
                for (var block = 0; block < blocks; block++)
                    Block(block);
                return;
            }
            Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, Block);
        }
    }
}

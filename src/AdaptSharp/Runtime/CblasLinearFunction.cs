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

    /// <summary>y = x·Wᵀ + b through <paramref name="library"/>, differentiable.</summary>
    public static Tensor Apply(CblasLibrary library, Tensor x, Tensor weight, Tensor? bias)
    {
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
    /// The forward product alone (no graph), also used under no_grad; on <paramref name="threads"/> threads (default:
    /// torch's count).
    /// </summary>
    public static Tensor Forward(CblasLibrary library, Tensor x, Tensor weight, Tensor? bias, int? threads = null)
    {
        var (m, n, k) = (x.shape[0], weight.shape[0], weight.shape[1]);
        // With a bias, C starts as the broadcast bias and the GEMM adds to it (beta 1), as addmm does.
        var y = bias is null ? empty(m, n, dtype: ScalarType.Float32) : bias.detach().expand(m, n).contiguous();
        Gemm(library, false, true, m, n, k, x, weight, bias is null ? 0f : 1f, y, threads);
        return y;
    }

    /// <summary>
    /// Where block <paramref name="t"/> of <paramref name="blocks"/> starts: a multiple of 64 rows. OpenBLAS's sums for
    /// a row can depend on where the row sits in the call's blocking; aligned blocks keep more of them equal to the
    /// one-thread call's (the vit-small attack step's rows in the threads ablation: all), and the adaptive thread count
    /// checks the bits itself and keeps a fixed count where they differ.
    /// </summary>
    private static int Boundary(int rows, int t, int blocks) => t >= blocks ? rows : (int)((long)rows * t / blocks / 64 * 64);

    /// <summary>Each thread's block of rows is at least this many rows (smaller products run on one thread).</summary>
    private const int MinRowsPerThread = 64;

    /// <summary>
    /// One product at the current torch thread count, split by rows of C: each thread makes a single-threaded library
    /// call on its own contiguous block. OpenBLAS's own threads scaled poorly on the vit-small attack step (2 threads
    /// 1.23x one, AMD EPYC) and cut the work so that the results changed with the count, which switched the adaptive
    /// thread count off; two blocks of a few hundred rows scale better (1.40-1.50x), and no row's sum is cut between threads.
    /// </summary>
    private static unsafe void Gemm(CblasLibrary library, bool transposeA, bool transposeB, long m, long n, long k,
        Tensor a, Tensor b, float beta, Tensor c, int? threadCount = null)
    {
        var (rows, columns, inner) = (checked((int)m), checked((int)n), checked((int)k));
        var threads = Math.Clamp(rows / MinRowsPerThread, 1, threadCount ?? get_num_threads());
        fixed (byte* pa = a.bytes, pb = b.bytes, pc = c.bytes)
        {
            nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc;
            var (lda, ldb) = (transposeA ? rows : inner, transposeB ? inner : columns);
            if (threads == 1)
            {
                library.Multiply(transposeA, transposeB, rows, columns, inner, 1f, ia, lda, ib, ldb, beta, ic, columns);
                return;
            }
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                var first = Boundary(rows, t, threads);
                var count = Boundary(rows, t + 1, threads) - first;
                // Row i of op(A) starts at A + i·lda, or at column i (A + i) when A is stored transposed.
                var blockA = ia + sizeof(float) * (transposeA ? first : (nint)first * lda);
                library.Multiply(transposeA, transposeB, count, columns, inner, 1f, blockA, lda, ib, ldb, beta, ic + sizeof(float) * (nint)first * columns, columns);
            });
        }
    }
}

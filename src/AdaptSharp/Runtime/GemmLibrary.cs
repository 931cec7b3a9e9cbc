namespace AdaptSharp.Runtime;

/// <summary>
/// An fp32 GEMM the route can give the model's large products to (<see cref="GemmRouting"/>): a system BLAS
/// (<see cref="CblasLibrary"/>) or this project's AVX-512 kernel (<see cref="Avx512GemmLibrary"/>).
/// </summary>
internal abstract unsafe class GemmLibrary
{
    /// <summary>The name ADAPT_GEMM takes and reports print ("OpenBLAS", "BLIS", "AVX512").</summary>
    public abstract string Name { get; }

    /// <summary>What tells two builds of the library apart in the stored route's machine key (OpenBLAS: its kernels).</summary>
    public virtual string Description => Name;

    /// <summary>Every library this machine can run, in the order the calibration lists them; found once per process.</summary>
    public static IReadOnlyList<GemmLibrary> Available => Found.Value;

    private static readonly Lazy<IReadOnlyList<GemmLibrary>> Found = new(() =>
        [.. CblasLibrary.Available, .. Avx512GemmLibrary.Instance is { } kernel ? new[] { kernel } : []]);

    /// <summary>
    /// C (m x n) = alpha · op(A) · op(B) + beta · C on the calling thread, row-major at addresses with their own row
    /// strides (lda, ldb, ldc): op(A) is m x k (A stored k x m when <paramref name="transposeA"/>), op(B) is k x n (B
    /// stored n x k when <paramref name="transposeB"/>). The strides let a call take a block of rows of a larger product,
    /// or one head's columns of a packed projection.
    /// </summary>
    public abstract void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, nint a, int lda, nint b,
        int ldb, float beta, nint c, int ldc);

    /// <summary>
    /// C (m x n, row-major, its rows n apart) = op(A) · op(B) + beta · C, plus <paramref name="bias"/> (a row of n floats
    /// added to every row, or 0 for none; only with beta 0), its rows shared out over up to <paramref name="threads"/>
    /// threads in blocks that depend on <paramref name="plannedThreads"/> only (never on the current count), so that the
    /// adaptive thread count does not change a result's bits. By default: equal blocks of at least
    /// <see cref="MinRowsPerBlock"/> rows, one per planned thread, each a single-threaded call (a bias is copied into the
    /// block's rows first and the call adds to it). A library's sums for a row depend on where the row sits in its call
    /// (OpenBLAS's Haswell kernels: rows 12 apart from the call's start; its SkylakeX kernels and BLIS: their paths for
    /// small sizes), so blocks cut by the current count gave other bits when the count changed. At one thread the blocks
    /// run one after another (0.2-1.3% slower than one call on the vit-small shapes).
    /// </summary>
    public virtual void MultiplyInBlocks(bool transposeA, bool transposeB, int m, int n, int k, nint a, int lda, nint b, int ldb,
        float beta, nint c, nint bias, int plannedThreads, int threads)
    {
        CheckBias(beta, bias);
        var blocks = Math.Clamp(m / MinRowsPerBlock, 1, plannedThreads);
        void Block(int block)
        {
            var first = (int)((long)m * block / blocks);
            var count = (int)((long)m * (block + 1) / blocks) - first;
            var blockC = c + (sizeof(float) * (nint)first * n);
            if (bias != 0)
            {
                var row = new ReadOnlySpan<float>((void*)bias, n);
                for (var i = 0; i < count; i++)
                    row.CopyTo(new Span<float>((void*)(blockC + (sizeof(float) * (nint)i * n)), n));
            }
            // Row i of op(A) starts at A + i·lda, or at column i (A + i) when A is stored transposed.
            var blockA = a + (sizeof(float) * (transposeA ? first : (nint)first * lda));
            Multiply(transposeA, transposeB, count, n, k, 1f, blockA, lda, b, ldb, bias != 0 ? 1f : beta, blockC, n);
        }
        if (Math.Min(blocks, threads) == 1)
        {
            for (var block = 0; block < blocks; block++)
                Block(block);
            return;
        }
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(blocks, threads) }, Block);
    }

    /// <summary>A bias row replaces what C held: it goes only with beta 0.</summary>
    protected static void CheckBias(float beta, nint bias)
    {
        if (bias != 0 && beta != 0f)
            throw new ArgumentException("a bias row goes only with beta 0");
    }

    /// <summary>Each block of rows is at least this many rows (smaller products are one call; two calls of 64 rows cost 9% more than one of 128).</summary>
    protected const int MinRowsPerBlock = 128;

    public override string ToString() => Name;
}

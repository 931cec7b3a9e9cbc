namespace AdaptSharp.Runtime;

/// <summary>
/// <see cref="Avx512Gemm"/> as a route's library ("AVX512"), on CPUs with AVX-512. Its sums for a row do not depend on
/// where the row sits in a call, so a product's rows are shared out over the threads in small blocks taken as threads come
/// free (a thread slowed by another process takes fewer), and op(B) is packed once per product for all of them.
/// </summary>
internal sealed unsafe class Avx512GemmLibrary : GemmLibrary
{
    private Avx512GemmLibrary()
    {
    }

    /// <summary>The library on this CPU, or null without AVX-512.</summary>
    public static Avx512GemmLibrary? Instance { get; } = Avx512Gemm.Supported ? new() : null;

    public override string Name => "AVX512";

    public override void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, nint a, int lda, nint b,
        int ldb, float beta, nint c, int ldc) =>
        Avx512Gemm.Multiply(transposeA, transposeB, m, n, k, alpha, (float*)a, lda, (float*)b, ldb, beta, (float*)c, ldc);

    /// <summary>Rows per block: small enough that two threads, one of them slowed, still share the work evenly.</summary>
    private const int RowsPerBlock = 48;

    public override void MultiplyInBlocks(bool transposeA, bool transposeB, int m, int n, int k, nint a, int lda, nint b, int ldb,
        float beta, nint c, int plannedThreads, int threads)
    {
        var blocks = (m + RowsPerBlock - 1) / RowsPerBlock;
        threads = Math.Clamp(Math.Min(blocks, threads), 1, Math.Max(1, m / MinRowsPerBlock));
        if (threads == 1)
        {
            Multiply(transposeA, transposeB, m, n, k, 1f, a, lda, b, ldb, beta, c, n);
            return;
        }
        var packed = (nint)Avx512Gemm.PackInScratch(transposeB, n, k, (float*)b, ldb);
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, block =>
            Avx512Gemm.MultiplyRows(transposeA, block * RowsPerBlock, Math.Min(m, (block + 1) * RowsPerBlock), n, k, 1f, (float*)a, lda,
                (float*)packed, beta, (float*)c, n));
    }
}

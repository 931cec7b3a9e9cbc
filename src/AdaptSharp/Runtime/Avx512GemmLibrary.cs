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
        float beta, nint c, nint bias, int plannedThreads, int threads)
    {
        CheckBias(beta, bias);
        // The planned count does not matter here: a row's sums are the same in any block.
        var blocks = (m + RowsPerBlock - 1) / RowsPerBlock;
        threads = Math.Clamp(Math.Min(blocks, threads), 1, Math.Max(1, m / MinRowsPerBlock));
        if (threads == 1)
        {
            Avx512Gemm.Multiply(transposeA, transposeB, m, n, k, 1f, (float*)a, lda, (float*)b, ldb, beta, (float*)c, n, (float*)bias);
            return;
        }
        // op(B) packed once for every block, its panels shared out too (packing on one thread cost 5-9% of a two-thread
        // vit-small attack step).
        var packed = (nint)Avx512Gemm.PackingBuffer(n, k);
        const int width = Avx512Gemm.PanelWidth;
        var panels = (n + width - 1) / width;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        Parallel.For(0, threads, options, t =>
        {
            var (first, end) = (panels * t / threads * width, Math.Min(n, panels * (t + 1) / threads * width));
            if (end > first)
                Avx512Gemm.PackColumns(transposeB, first, end, k, (float*)b, ldb, (float*)packed);
        });
        Parallel.For(0, blocks, options, block =>
            Avx512Gemm.MultiplyRows(transposeA, block * RowsPerBlock, Math.Min(m, (block + 1) * RowsPerBlock), n, k, 1f, (float*)a, lda,
                (float*)packed, beta, (float*)c, n, (float*)bias));
    }
}

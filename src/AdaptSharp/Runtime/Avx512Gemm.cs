using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AdaptSharp.Runtime;

/// <summary>
/// A general fp32 GEMM on 512-bit vectors, C (m x n) = alpha · op(A) · op(B) + beta · C with row-major operands and
/// row strides, as cblas_sgemm. Hand-written because the libraries this machine's environment runs do not reach an
/// AVX-512 CPU's peak (libtorch's MKL runs its AVX2 kernels on AMD CPUs, Debian's OpenBLAS 0.3.21 falls back to older
/// kernels on CPUs newer than it knows, and this project's environment pins its Haswell kernels), and no served package
/// offers an AVX-512 GEMM for .NET. op(B) is packed once per call into panels of 32 columns (k x 32 floats, zero
/// beyond n), which stay in the L2 cache while 6-row tiles of op(A) sweep past them; op(A) is read in place. Every
/// element of C is summed in the same order, k = 0, 1, ..., by fused multiply-adds from zero, then scaled by alpha,
/// added to beta · C and to a bias row when one is given, whichever tile computes it: a row's result does not depend on where it sits in a call, how the rows
/// are split into calls or threads, or which AVX-512 CPU runs it.
/// </summary>
internal static unsafe class Avx512Gemm
{
    private const int Lanes = 16;
    /// <summary>The columns of op(B) in one packed panel (<see cref="PackColumns"/> starts at multiples of it).</summary>
    public const int PanelWidth = 2 * Lanes;
    private const int TileRows = 6;

    /// <summary>Whether this CPU runs it (AVX-512 F).</summary>
    public static bool Supported => Avx512F.IsSupported;

    /// <summary>Floats of <see cref="Pack"/>'s output for an op(B) of k x n.</summary>
    public static long PackedLength(int n, int k) => (long)((n + PanelWidth - 1) / PanelWidth) * PanelWidth * k;

    /// <summary>
    /// C = alpha · op(A) · op(B) + beta · C (+ <paramref name="bias"/>, a row of n, when given) on the calling thread
    /// (see the class summary).
    /// </summary>
    public static void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, float* bias = null)
    {
        if (m <= 0 || n <= 0)
            return;
        var packed = PackingBuffer(n, k);
        PackColumns(transposeB, 0, n, k, b, ldb, packed);
        MultiplyRows(transposeA, 0, m, n, k, alpha, a, lda, packed, beta, c, ldc, bias);
    }

    /// <summary>
    /// The calling thread's buffer for a packed op(B) of k x n, valid until this thread's next call here; other threads
    /// may fill and read it meanwhile.
    /// </summary>
    public static float* PackingBuffer(int n, int k) => ThreadScratch.Get(ThreadScratch.Slot.PackedB, PackedLength(n, k));

    /// <summary>
    /// Packs columns first..end-1 of op(B) into their panels of <paramref name="packed"/> (<see cref="Pack"/>'s layout
    /// for all n columns); first a multiple of 32, so threads can pack panels side by side.
    /// </summary>
    public static void PackColumns(bool transposeB, int first, int end, int k, float* b, int ldb, float* packed) =>
        Pack(transposeB, end - first, k, transposeB ? b + ((nint)first * ldb) : b + first, ldb, packed + ((nint)first * k));

    /// <summary>
    /// Packs op(B) (k x n; B stored n x k when <paramref name="transposeB"/>) into <see cref="PackedLength"/> floats:
    /// panel j holds columns 32j..32j+31 as k rows of 32, zero beyond n.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pack(bool transposeB, int n, int k, float* b, int ldb, float* packed)
    {
        for (var j = 0; j < n; j += PanelWidth)
        {
            var panel = packed + ((nint)j * k);
            var width = Math.Min(PanelWidth, n - j);
            if (!transposeB && width == PanelWidth)
            {
                for (var q = 0; q < k; q++)
                {
                    var row = b + ((nint)q * ldb) + j;
                    Avx512F.Store(panel + (q * PanelWidth), Avx512F.LoadVector512(row));
                    Avx512F.Store(panel + (q * PanelWidth) + Lanes, Avx512F.LoadVector512(row + Lanes));
                }
                continue;
            }
            var p = 0;
            if (transposeB && width == PanelWidth)
            {
                // B's 32 rows j..j+31 become the panel's columns: 16 x 16 blocks transposed in registers.
                for (; p + Lanes <= k; p += Lanes)
                {
                    Transpose16(b + ((nint)j * ldb) + p, ldb, panel + (p * PanelWidth));
                    Transpose16(b + ((nint)(j + Lanes) * ldb) + p, ldb, panel + (p * PanelWidth) + Lanes);
                }
            }
            else
            {
                new Span<float>(panel, k * PanelWidth).Clear();
            }
            for (var column = 0; column < width; column++)
            {
                for (var q = p; q < k; q++)
                    panel[(q * PanelWidth) + column] = transposeB ? b[((nint)(j + column) * ldb) + q] : b[((nint)q * ldb) + j + column];
            }
        }
    }

    /// <summary>
    /// Writes the transpose of the 16 x 16 block at <paramref name="source"/> (rows <paramref name="stride"/> floats
    /// apart) as 16 rows of a panel: 32-bit and 64-bit interleaves within 128-bit lanes, then two exchanges of lanes.
    /// </summary>
    // SkipLocalsInit: its 2 KB of stack vectors are all written before they are read; zeroing them on every call took
    // 0.3% of vit-small's attack step (perf profile, one thread).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void Transpose16(float* source, nint stride, float* panel)
    {
        var rows = stackalloc Vector512<float>[Lanes];
        for (var r = 0; r < Lanes; r += 2)
        {
            var (upper, lower) = (Avx512F.LoadVector512(source + (r * stride)), Avx512F.LoadVector512(source + ((r + 1) * stride)));
            rows[r] = Avx512F.UnpackLow(upper, lower);
            rows[r + 1] = Avx512F.UnpackHigh(upper, lower);
        }
        // rows[4g + s], 128-bit lane l: rows 4g..4g+3 of column 4l + s.
        var pairs = stackalloc Vector512<float>[Lanes];
        for (var g = 0; g < Lanes; g += 4)
        {
            var (even, odd) = (rows[g].AsDouble(), rows[g + 2].AsDouble());
            var (evenHigh, oddHigh) = (rows[g + 1].AsDouble(), rows[g + 3].AsDouble());
            pairs[g] = Avx512F.UnpackLow(even, odd).AsSingle();
            pairs[g + 1] = Avx512F.UnpackHigh(even, odd).AsSingle();
            pairs[g + 2] = Avx512F.UnpackLow(evenHigh, oddHigh).AsSingle();
            pairs[g + 3] = Avx512F.UnpackHigh(evenHigh, oddHigh).AsSingle();
        }
        for (var s = 0; s < 4; s++)
        {
            var low01 = Avx512F.Shuffle4x128(pairs[s], pairs[4 + s], 0x44);
            var high01 = Avx512F.Shuffle4x128(pairs[s], pairs[4 + s], 0xEE);
            var low23 = Avx512F.Shuffle4x128(pairs[8 + s], pairs[12 + s], 0x44);
            var high23 = Avx512F.Shuffle4x128(pairs[8 + s], pairs[12 + s], 0xEE);
            Avx512F.Store(panel + (s * PanelWidth), Avx512F.Shuffle4x128(low01, low23, 0x88));
            Avx512F.Store(panel + ((4 + s) * PanelWidth), Avx512F.Shuffle4x128(low01, low23, 0xDD));
            Avx512F.Store(panel + ((8 + s) * PanelWidth), Avx512F.Shuffle4x128(high01, high23, 0x88));
            Avx512F.Store(panel + ((12 + s) * PanelWidth), Avx512F.Shuffle4x128(high01, high23, 0xDD));
        }
    }

    /// <summary>
    /// Rows first..end-1 of C = alpha · op(A) · op(B) + beta · C (+ <paramref name="bias"/>, a row of n, added last to
    /// every row), op(B) packed by <see cref="PackColumns"/> (op(A) is m x k; A stored k x m when
    /// <paramref name="transposeA"/>). Rows go in chunks whose part of op(A) stays in the L2 cache
    /// beside one panel; within a chunk every panel meets every tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyRows(bool transposeA, int first, int end, int n, int k, float alpha, float* a, int lda,
        float* packed, float beta, float* c, int ldc, float* bias = null)
    {
        // Step to the next row and to the next k of op(A).
        var (rowStep, innerStep) = transposeA ? ((nint)1, (nint)lda) : (lda, (nint)1);
        var chunk = Math.Max(TileRows, ChunkBytes / (Math.Max(k, 1) * sizeof(float)) / TileRows * TileRows);
        for (var start = first; start < end; start += chunk)
        {
            var stop = Math.Min(end, start + chunk);
            for (var j = 0; j < n; j += PanelWidth)
            {
                var panel = packed + ((nint)j * k);
                var columns = Math.Min(PanelWidth, n - j);
                for (var i = start; i < stop; i += TileRows)
                {
                    // A last panel of 16 columns or fewer (the demo model's widths 48 and 144) takes half the work.
                    if (columns <= Lanes)
                        HalfTile(a + (i * rowStep), rowStep, innerStep, panel, k, Math.Min(TileRows, stop - i), columns, alpha, beta,
                            bias is null ? null : bias + j, c + ((nint)i * ldc) + j, ldc);
                    else
                        Tile(a + (i * rowStep), rowStep, innerStep, panel, k, Math.Min(TileRows, stop - i), columns, alpha, beta,
                            bias is null ? null : bias + j, c + ((nint)i * ldc) + j, ldc);
                }
            }
        }
    }

    /// <summary>The bytes of op(A) a chunk of rows may take (a quarter of a 1 MB L2 cache, beside a panel).</summary>
    private const int ChunkBytes = 256 << 10;

    /// <summary>
    /// One tile of up to 6 rows x 32 columns: its sums over k in registers (rows past <paramref name="rows"/> read row 0
    /// again and are not stored), then stored to C whole or, at the edges, through a buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(float* a, nint rowStep, nint innerStep, float* panel, int k, int rows, int columns, float alpha,
        float beta, float* bias, float* c, int ldc)
    {
        float* a0 = a, a1 = rows > 1 ? a + rowStep : a, a2 = rows > 2 ? a + (2 * rowStep) : a, a3 = rows > 3 ? a + (3 * rowStep) : a,
            a4 = rows > 4 ? a + (4 * rowStep) : a, a5 = rows > 5 ? a + (5 * rowStep) : a;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint offset = 0;
        for (var p = 0; p < k; p++, offset += innerStep)
        {
            var b0 = Avx512F.LoadVector512(panel + (p * PanelWidth));
            var b1 = Avx512F.LoadVector512(panel + (p * PanelWidth) + Lanes);
            var x = Vector512.Create(a0[offset]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[offset]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[offset]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[offset]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[offset]);
            c40 = Avx512F.FusedMultiplyAdd(x, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[offset]);
            c50 = Avx512F.FusedMultiplyAdd(x, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
        }
        if (rows == TileRows && columns == PanelWidth)
        {
            Store(c, c00, c01, alpha, beta, bias);
            Store(c + ldc, c10, c11, alpha, beta, bias);
            Store(c + (2 * ldc), c20, c21, alpha, beta, bias);
            Store(c + (3 * ldc), c30, c31, alpha, beta, bias);
            Store(c + (4 * ldc), c40, c41, alpha, beta, bias);
            Store(c + (5 * ldc), c50, c51, alpha, beta, bias);
            return;
        }
        var sums = stackalloc float[TileRows * PanelWidth];
        Avx512F.Store(sums, c00);
        Avx512F.Store(sums + Lanes, c01);
        Avx512F.Store(sums + PanelWidth, c10);
        Avx512F.Store(sums + PanelWidth + Lanes, c11);
        Avx512F.Store(sums + (2 * PanelWidth), c20);
        Avx512F.Store(sums + (2 * PanelWidth) + Lanes, c21);
        Avx512F.Store(sums + (3 * PanelWidth), c30);
        Avx512F.Store(sums + (3 * PanelWidth) + Lanes, c31);
        Avx512F.Store(sums + (4 * PanelWidth), c40);
        Avx512F.Store(sums + (4 * PanelWidth) + Lanes, c41);
        Avx512F.Store(sums + (5 * PanelWidth), c50);
        Avx512F.Store(sums + (5 * PanelWidth) + Lanes, c51);
        StoreEdge(sums, rows, columns, alpha, beta, bias, c, ldc);
    }

    /// <summary><see cref="Tile"/> for at most 16 columns: the panel's first 16 lanes only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HalfTile(float* a, nint rowStep, nint innerStep, float* panel, int k, int rows, int columns, float alpha,
        float beta, float* bias, float* c, int ldc)
    {
        float* a0 = a, a1 = rows > 1 ? a + rowStep : a, a2 = rows > 2 ? a + (2 * rowStep) : a, a3 = rows > 3 ? a + (3 * rowStep) : a,
            a4 = rows > 4 ? a + (4 * rowStep) : a, a5 = rows > 5 ? a + (5 * rowStep) : a;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        nint offset = 0;
        for (var p = 0; p < k; p++, offset += innerStep)
        {
            var b0 = Avx512F.LoadVector512(panel + (p * PanelWidth));
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a0[offset]), b0, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a1[offset]), b0, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a2[offset]), b0, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a3[offset]), b0, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a4[offset]), b0, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a5[offset]), b0, c5);
        }
        if (rows == TileRows && columns == Lanes)
        {
            Store(c, c0, alpha, beta, bias);
            Store(c + ldc, c1, alpha, beta, bias);
            Store(c + (2 * ldc), c2, alpha, beta, bias);
            Store(c + (3 * ldc), c3, alpha, beta, bias);
            Store(c + (4 * ldc), c4, alpha, beta, bias);
            Store(c + (5 * ldc), c5, alpha, beta, bias);
            return;
        }
        var sums = stackalloc float[TileRows * PanelWidth];
        Avx512F.Store(sums, c0);
        Avx512F.Store(sums + PanelWidth, c1);
        Avx512F.Store(sums + (2 * PanelWidth), c2);
        Avx512F.Store(sums + (3 * PanelWidth), c3);
        Avx512F.Store(sums + (4 * PanelWidth), c4);
        Avx512F.Store(sums + (5 * PanelWidth), c5);
        StoreEdge(sums, rows, columns, alpha, beta, bias, c, ldc);
    }

    /// <summary>
    /// An edge tile's sums (rows of 32 in <paramref name="sums"/>) stored row by row through lane masks, by the vector stores'
    /// operations (one lane at a time this was 0.7% of vit-small's attack step, whose score products end in 30 columns).
    /// </summary>
    private static void StoreEdge(float* sums, int rows, int columns, float alpha, float beta, float* bias, float* c, int ldc)
    {
        var low = LaneMask(Math.Min(columns, Lanes));
        var high = LaneMask(columns - Lanes);
        for (var r = 0; r < rows; r++)
        {
            var row = c + ((nint)r * ldc);
            StoreMasked(row, Avx512F.LoadVector512(sums + (r * PanelWidth)), low, alpha, beta, bias);
            if (columns > Lanes)
                StoreMasked(row + Lanes, Avx512F.LoadVector512(sums + (r * PanelWidth) + Lanes), high, alpha, beta, bias is null ? null : bias + Lanes);
        }
    }

    /// <summary>All ones in the first <paramref name="count"/> lanes, zeros in the rest.</summary>
    private static Vector512<float> LaneMask(int count) =>
        Vector512.LessThan(Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create((float)count));

    /// <summary>
    /// The lanes of C in <paramref name="mask"/> = alpha · sums + beta · C + bias (C and bias read in those lanes only; C
    /// not read when beta is 0; bias null: none).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreMasked(float* c, Vector512<float> sums, Vector512<float> mask, float alpha, float beta, float* bias)
    {
        if (alpha != 1f)
            sums *= alpha;
        if (beta != 0f)
            sums += beta == 1f ? Avx512F.MaskLoad(c, mask, Vector512<float>.Zero) : Avx512F.MaskLoad(c, mask, Vector512<float>.Zero) * beta;
        if (bias is not null)
            sums += Avx512F.MaskLoad(bias, mask, Vector512<float>.Zero);
        Avx512F.MaskStore(c, mask, sums);
    }

    /// <summary>32 floats of C = alpha · sums + beta · C + bias (C not read when beta is 0; bias null: none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> low, Vector512<float> high, float alpha, float beta, float* bias)
    {
        Store(c, low, alpha, beta, bias);
        Store(c + Lanes, high, alpha, beta, bias is null ? null : bias + Lanes);
    }

    /// <summary>16 floats of C = alpha · sums + beta · C + bias (C not read when beta is 0; bias null: none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> sums, float alpha, float beta, float* bias) =>
        StoreMasked(c, sums, Vector512<float>.AllBitsSet, alpha, beta, bias);
}

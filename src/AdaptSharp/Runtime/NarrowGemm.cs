using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AdaptSharp.Runtime;

/// <summary>
/// C = A·B + init for the narrow fp32 products of small ViTs (inner and output dimensions of a few dozen to a few
/// hundred, multiples of 16) on 512-bit vectors: A (m x k) and C (m x n) row-major, B (k x n) row-major, init a bias row
/// (n) or zero. Hand-written because libtorch's MKL runs its AVX2 kernels on AMD CPUs with AVX-512 (80 GFLOP/s on the
/// demo model's 1,344 x 48 x 192 product on one Zen 5 core, against 201 here), and no served package offers an AVX-512
/// GEMM for .NET; the system BLASes that have one take over only at widths of 128 and more (<see cref="GemmRouting"/>).
/// Register tiles of 6 rows x 32 or 16 columns; every element is summed in the same order, k = 0, 1, ..., by fused
/// multiply-adds from zero, the bias added last, whichever tile computes it, so a row's result does not depend on where
/// it sits or how the rows are split between threads.
/// </summary>
internal static unsafe class NarrowGemm
{
    private const int Lanes = 16;
    private const int Rows = 6;

    /// <summary>Whether this CPU runs it (AVX-512 F).</summary>
    public static bool Supported => Avx512F.IsSupported;

    /// <summary>C[i, :] = A[i, :]·B + init for every row i of A; n a multiple of 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(float* a, float* b, float* init, float* c, int m, int n, int k)
    {
        var i = 0;
        for (; i + Rows <= m; i += Rows)
        {
            var j = 0;
            for (; j + (2 * Lanes) <= n; j += 2 * Lanes)
                Tile6x32(a + ((nint)i * k), b + j, init is null ? null : init + j, c + ((nint)i * n) + j, n, k);
            if (j < n)
                Tile6x16(a + ((nint)i * k), b + j, init is null ? null : init + j, c + ((nint)i * n) + j, n, k);
        }
        for (; i < m; i++)
        {
            for (var j = 0; j < n; j += Lanes)
                Tile1x16(a + ((nint)i * k), b + j, init is null ? null : init + j, c + ((nint)i * n) + j, k, n);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile6x32(float* a, float* b, float* init, float* c, int n, int k)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var p = 0; p < k; p++)
        {
            var row = b + ((nint)p * n);
            var b0 = Avx512F.LoadVector512(row);
            var b1 = Avx512F.LoadVector512(row + Lanes);
            var a0 = Vector512.Create(a[p]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[k + p]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[(2 * k) + p]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[(3 * k) + p]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[(4 * k) + p]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[(5 * k) + p]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
        }
        Vector512<float> i0 = init is null ? default : Avx512F.LoadVector512(init), i1 = init is null ? default : Avx512F.LoadVector512(init + Lanes);
        Avx512F.Store(c, c00 + i0);
        Avx512F.Store(c + Lanes, c01 + i1);
        Avx512F.Store(c + n, c10 + i0);
        Avx512F.Store(c + n + Lanes, c11 + i1);
        Avx512F.Store(c + (2 * n), c20 + i0);
        Avx512F.Store(c + (2 * n) + Lanes, c21 + i1);
        Avx512F.Store(c + (3 * n), c30 + i0);
        Avx512F.Store(c + (3 * n) + Lanes, c31 + i1);
        Avx512F.Store(c + (4 * n), c40 + i0);
        Avx512F.Store(c + (4 * n) + Lanes, c41 + i1);
        Avx512F.Store(c + (5 * n), c50 + i0);
        Avx512F.Store(c + (5 * n) + Lanes, c51 + i1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile6x16(float* a, float* b, float* init, float* c, int n, int k)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (var p = 0; p < k; p++)
        {
            var b0 = Avx512F.LoadVector512(b + ((nint)p * n));
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[p]), b0, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[k + p]), b0, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[(2 * k) + p]), b0, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[(3 * k) + p]), b0, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[(4 * k) + p]), b0, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[(5 * k) + p]), b0, c5);
        }
        var i0 = init is null ? default : Avx512F.LoadVector512(init);
        Avx512F.Store(c, c0 + i0);
        Avx512F.Store(c + n, c1 + i0);
        Avx512F.Store(c + (2 * n), c2 + i0);
        Avx512F.Store(c + (3 * n), c3 + i0);
        Avx512F.Store(c + (4 * n), c4 + i0);
        Avx512F.Store(c + (5 * n), c5 + i0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x16(float* a, float* b, float* init, float* c, int k, int n)
    {
        Vector512<float> sum = default;
        for (var p = 0; p < k; p++)
            sum = Avx512F.FusedMultiplyAdd(Vector512.Create(a[p]), Avx512F.LoadVector512(b + ((nint)p * n)), sum);
        Avx512F.Store(c, sum + (init is null ? default : Avx512F.LoadVector512(init)));
    }
}

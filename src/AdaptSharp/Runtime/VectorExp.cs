using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AdaptSharp.Runtime;

/// <summary>
/// e^x on vectors of 8 or 16 floats for x &lt;= 0, the range the attention's softmax and the GELU's Gaussian take it in.
/// Written here because .NET's vector exp for floats works in doubles: it took 60% of the softmax's time on vit-small's
/// attention (perf profile, one thread). The two widths are the same steps: the softmax runs on any CPU with 256-bit
/// vectors, the fused feed-forward only with AVX-512, and .NET's vector types share no interface to write it once.
/// </summary>
internal static class VectorExp
{
    /// <summary>
    /// e^x for x &lt;= 0 (small positive x, up to about 1e-3, too; -inf and anything below e^x's smallest normal give 0,
    /// NaN stays NaN), within 1 ulp (0.87 at worst, VectorExpTests). x = n·ln 2 + r with |r| &lt;= ln 2 / 2 (ln 2 in two
    /// parts so that r is exact), e^r by its Taylor series to r⁷ (the next term is below 6e-9 relative), times 2ⁿ put in
    /// the exponent bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> OfNonPositive(Vector256<float> x)
    {
        var n = Vector256.Round(x * Vector256.Create(1.44269504f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693145752f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-1.42860677e-6f), r);
        var p = Vector256.Create(1f / 5040f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 720f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(SmallestNormalExponent)), Vector256<float>.Zero, p * scale);
    }

    /// <summary><see cref="OfNonPositive(Vector256{float})"/> on 16 floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> OfNonPositive(Vector512<float> x)
    {
        var n = Vector512.Round(x * Vector512.Create(1.44269504f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693145752f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-1.42860677e-6f), r);
        var p = Vector512.Create(1f / 5040f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(SmallestNormalExponent)), Vector512<float>.Zero, p * scale);
    }

    /// <summary>ln of float's smallest normal number (2⁻¹²⁶): below it <see cref="OfNonPositive(Vector256{float})"/> gives 0.</summary>
    private const float SmallestNormalExponent = -87.33654f;
}

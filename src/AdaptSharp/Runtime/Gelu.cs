using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AdaptSharp.Runtime;

/// <summary>
/// The exact GELU, x·Φ(x), and its derivative Φ(x) + x·φ(x) on 512-bit vectors, for the fused feed-forward
/// (<see cref="GemmFeedForwardFunction"/>, AVX-512 only). With z = |x|/√2 and e = exp(−z²): φ(x) = e/√(2π), and
/// Φ(x) = 1 − erfc(z)/2 for x ≥ 0, erfc(z)/2 below, where erfc(z) = t·(a₁ + a₂t + … + a₅t⁴)·e, t = 1/(1 + p·z)
/// (Abramowitz and Stegun, Handbook of Mathematical Functions, 7.1.26: absolute error below 1.5e-7), so one exp serves
/// both. Evaluated in float32, Φ is within 2.5e-7 (2.33e-7 at worst, near x = 0.05) and the derivative within 3e-7
/// (GemmFeedForwardTests): the GELU within 2.5e-7·|x|, a few float32 roundings.
/// Written here because neither .NET nor TorchSharp has a vector erf, and the fusion needs the GELU on a block in cache
/// rather than libtorch's pass over a whole tensor.
/// </summary>
internal static unsafe class Gelu
{
    private const int Lane = 16;

    /// <summary>
    /// <paramref name="count"/> floats (a multiple of 16) at <paramref name="values"/> become their GELU; the derivative
    /// at each goes to <paramref name="derivatives"/> unless it is 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(nint values, nint derivatives, long count)
    {
        var x = (float*)values;
        var derivative = (float*)derivatives;
        for (long i = 0; i < count; i += Lane)
        {
            var v = Avx512F.LoadVector512(x + i);
            var (distribution, density) = Normal(v);
            Avx512F.Store(x + i, v * distribution);
            if (derivatives != 0)
                Avx512F.Store(derivative + i, Vector512.FusedMultiplyAdd(v, density, distribution));
        }
    }

    /// <summary><paramref name="count"/> floats (a multiple of 16) of a gradient times the GELU's derivative at the same places.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleByDerivative(nint gradients, nint derivatives, long count)
    {
        var gradient = (float*)gradients;
        var derivative = (float*)derivatives;
        for (long i = 0; i < count; i += Lane)
            Avx512F.Store(gradient + i, Avx512F.LoadVector512(gradient + i) * Avx512F.LoadVector512(derivative + i));
    }

    /// <summary>The standard normal's distribution function Φ(x) and density φ(x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> Distribution, Vector512<float> Density) Normal(Vector512<float> x)
    {
        var z = Vector512.Abs(x) * Vector512.Create(0.707106781f);
        var t = Vector512<float>.One / Vector512.FusedMultiplyAdd(z, Vector512.Create(0.3275911f), Vector512<float>.One);
        var p = Vector512.Create(1.061405429f);
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-1.453152027f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1.421413741f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-0.284496736f));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(0.254829592f));
        var gaussian = VectorExp.OfNonPositive(-(z * z));
        var halfTail = Vector512.Create(0.5f) * t * p * gaussian;
        var distribution = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.One - halfTail, halfTail);
        return (distribution, gaussian * Vector512.Create(0.398942280f));
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AdaptSharp.Runtime;

/// <summary>
/// The softmax over the rows of one attention head's score block and its backward, in place, on vectors of
/// <see cref="Lane"/> floats. <see cref="GemmAttentionFunction"/> runs them between a head's products while the block is
/// in the core's cache, where libtorch's softmax and the backward's four element-wise passes each went over every
/// head's block in memory (bench suite "perf", vit-small; docs/performance.md). Rows are <see cref="PaddedLength"/>
/// floats apart so that every row is whole vectors; the padding lanes hold zeros after the forward and are never read
/// by the products. Numerics as libtorch's: exp(x − max) with <see cref="VectorExp"/> (within 1 ulp, as libtorch's), scaled
/// by the reciprocal of its sum; the backward (dP − Σ dP ⊙ P) ⊙ P.
/// </summary>
internal static class RowSoftmax
{
    public const int Lane = 8;

    /// <summary>A row of <paramref name="length"/> scores rounded up to whole vectors.</summary>
    public static int PaddedLength(int length) => (length + Lane - 1) / Lane * Lane;

    /// <summary>The lanes of a row's last vector that hold scores (all ones) and those that are padding (zeros).</summary>
    private static Vector256<float> LastMask(int length)
    {
        var used = length - ((PaddedLength(length) - Lane));
        return Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(used)).AsSingle();
    }

    /// <summary>Each of <paramref name="rows"/> rows (<paramref name="length"/> scores, <see cref="PaddedLength"/> apart) becomes its softmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Forward(nint scores, int rows, int length)
    {
        var block = (float*)scores;
        var stride = PaddedLength(length);
        var last = stride - Lane;
        var mask = LastMask(length);
        var minus = Vector256.Create(float.NegativeInfinity);
        for (var r = 0; r < rows; r++)
        {
            var row = block + ((nint)r * stride);
            Vector256.ConditionalSelect(mask, Vector256.Load(row + last), minus).Store(row + last);
            var max = Vector256.Load(row);
            for (var x = Lane; x < stride; x += Lane)
                max = Vector256.Max(max, Vector256.Load(row + x));
            var m = Vector256.Create(HorizontalMax(max));
            var total = Vector256<float>.Zero;
            for (var x = 0; x < stride; x += Lane)
            {
                var e = VectorExp.OfNonPositive(Vector256.Load(row + x) - m);
                e.Store(row + x);
                total += e;
            }
            var reciprocal = Vector256.Create(1f / Vector256.Sum(total));
            for (var x = 0; x < stride; x += Lane)
                (Vector256.Load(row + x) * reciprocal).Store(row + x);
        }
    }

    /// <summary>
    /// The softmax's backward in place of the probabilities' gradient <paramref name="gradientOfProbabilities"/>:
    /// dS = (dP − Σ_j dP ⊙ P) ⊙ P per row, with <paramref name="probabilitiesBlock"/> as <see cref="Forward"/> left them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Backward(nint gradientOfProbabilities, nint probabilitiesBlock, int rows, int length)
    {
        var gradient = (float*)gradientOfProbabilities;
        var probabilities = (float*)probabilitiesBlock;
        var stride = PaddedLength(length);
        var last = stride - Lane;
        var mask = LastMask(length);
        for (var r = 0; r < rows; r++)
        {
            var dp = gradient + ((nint)r * stride);
            var p = probabilities + ((nint)r * stride);
            // The gradient's padding lanes were never written: zero them so that they add nothing (and no NaN) below.
            Vector256.ConditionalSelect(mask, Vector256.Load(dp + last), Vector256<float>.Zero).Store(dp + last);
            var total = Vector256<float>.Zero;
            for (var x = 0; x < stride; x += Lane)
                total += Vector256.Load(dp + x) * Vector256.Load(p + x);
            var sum = Vector256.Create(Vector256.Sum(total));
            for (var x = 0; x < stride; x += Lane)
                ((Vector256.Load(dp + x) - sum) * Vector256.Load(p + x)).Store(dp + x);
        }
    }

    private static float HorizontalMax(Vector256<float> v)
    {
        var m = v[0];
        for (var i = 1; i < Lane; i++)
            m = MathF.Max(m, v[i]);
        return m;
    }
}

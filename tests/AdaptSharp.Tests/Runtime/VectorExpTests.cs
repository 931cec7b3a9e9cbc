using System.Runtime.Intrinsics;
using AdaptSharp.Runtime;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// The exp of the routed attention and the fused feed-forward (<see cref="VectorExp.OfNonPositive"/>): within 1 ulp of e^x over the whole range of
/// non-positive floats where e^x is a normal float, 0 below it and for -inf, NaN for NaN. The softmax and its backward
/// themselves are checked against float64 through the attention (GemmRoutingTests).
/// </summary>
public sealed class VectorExpTests
{
    [Fact]
    public void ExpIsWithinTwoUlpOfTheExactValueDownToTheSmallestNormal()
    {
        var worst = 0.0;
        var inputs = new float[8];
        var outputs = new float[8];
        // Every 997th float from 0 down to ln(2^-126), plus both ends.
        var values = new List<float> { 0f, -87.33f, -1e-30f, -0.34657359f, -0.34657362f };
        for (var bits = 0x80000000u; BitConverter.UInt32BitsToSingle(bits) >= -87.33f; bits += 997)
            values.Add(BitConverter.UInt32BitsToSingle(bits));
        for (var i = 0; i < values.Count; i += 8)
        {
            for (var j = 0; j < 8; j++)
                inputs[j] = values[Math.Min(i + j, values.Count - 1)];
            VectorExp.OfNonPositive(Vector256.Create(inputs)).CopyTo(outputs);
            for (var j = 0; j < 8; j++)
            {
                var exact = Math.Exp(inputs[j]);
                var ulp = (double)MathF.BitIncrement((float)exact) - (float)exact;
                worst = Math.Max(worst, Math.Abs(outputs[j] - exact) / ulp);
            }
        }
        Assert.True(worst <= 1.0, $"worst error {worst:F2} ulp");
        Assert.True(values.Count > 1_000_000);
    }

    [Fact]
    public void ExpGivesZeroBelowTheNormalRangeAndForMinusInfinityAndKeepsNaN()
    {
        var result = VectorExp.OfNonPositive(Vector256.Create(float.NegativeInfinity, -88f, -100f, -1e30f, float.NaN, 0f, -1f, -87.3f));
        Assert.Equal([0f, 0f, 0f, 0f], new[] { result[0], result[1], result[2], result[3] });
        Assert.True(float.IsNaN(result[4]));
        Assert.Equal(1f, result[5]);
        Assert.Equal(MathF.Exp(-1f), result[6], 6);
        Assert.True(result[7] > 0f);
    }
}

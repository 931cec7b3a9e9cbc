namespace AdaptSharp.Tests.Models;

/// <summary>
/// A non-overlapping patch projection (stride = kernel) computed in float64 from the float32 inputs, with the
/// closed-form input gradient of sum(y^2): each pixel's gradient is 2 * sum_k y_k * W_k at its position in its patch.
/// It is the reference for the patch embedding, so no test of it depends on a libtorch convolution kernel.
/// Also returns, per element, the magnitude that bounds float32 rounding: sum |terms| of the sums involved.
/// </summary>
internal sealed class PatchProjectionReference
{
    private readonly int n, channels, size, patch, width;

    public PatchProjectionReference(int n, int channels, int size, int patch, int width) =>
        (this.n, this.channels, this.size, this.patch, this.width) = (n, channels, size, patch, width);

    private int Grid => size / patch;

    private int Terms => channels * patch * patch;

    /// <summary>Unit roundoff of float32.</summary>
    public const double Float32Roundoff = 5.960464477539063e-8;

    /// <summary>y[n, patch, d] = b_d + sum_{c,i,j} W[d,c,i,j] x[n,c,row*p+i,col*p+j], and sum of |terms| for each.</summary>
    public (double[] Y, double[] Magnitude) Forward(float[] x, float[] weight, float[] bias)
    {
        var patches = Grid * Grid;
        var y = new double[n * patches * width];
        var magnitude = new double[y.Length];
        for (var b = 0; b < n; b++)
            for (var r = 0; r < Grid; r++)
                for (var q = 0; q < Grid; q++)
                    for (var d = 0; d < width; d++)
                    {
                        double sum = bias[d], abs = Math.Abs(bias[d]);
                        for (var c = 0; c < channels; c++)
                            for (var i = 0; i < patch; i++)
                                for (var j = 0; j < patch; j++)
                                {
                                    var term = (double)weight[((d * channels + c) * patch + i) * patch + j] * x[Pixel(b, c, r * patch + i, q * patch + j)];
                                    sum += term;
                                    abs += Math.Abs(term);
                                }
                        var at = (b * patches + r * Grid + q) * width + d;
                        y[at] = sum;
                        magnitude[at] = abs;
                    }
        return (y, magnitude);
    }

    /// <summary>
    /// d sum(y^2) / dx = 2 sum_d y_d W[d, c, i, j] at the pixel's (i, j) in its patch; its magnitude is
    /// 2 sum_d |W| * magnitude(y_d), since the float32 y that a fast path multiplies carries y's rounding.
    /// </summary>
    public (double[] Gradient, double[] Magnitude) InputGradientOfSumOfSquares(double[] y, double[] yMagnitude, float[] weight)
    {
        var gradient = new double[n * channels * size * size];
        var magnitude = new double[gradient.Length];
        for (var b = 0; b < n; b++)
            for (var c = 0; c < channels; c++)
                for (var h = 0; h < Grid * patch; h++)
                    for (var w = 0; w < Grid * patch; w++)
                    {
                        var (r, i, q, j) = (h / patch, h % patch, w / patch, w % patch);
                        var row = (b * Grid * Grid + r * Grid + q) * width;
                        double sum = 0, abs = 0;
                        for (var d = 0; d < width; d++)
                        {
                            var kernel = (double)weight[((d * channels + c) * patch + i) * patch + j];
                            sum += 2 * y[row + d] * kernel;
                            abs += 2 * yMagnitude[row + d] * Math.Abs(kernel);
                        }
                        gradient[Pixel(b, c, h, w)] = sum;
                        magnitude[Pixel(b, c, h, w)] = abs;
                    }
        return (gradient, magnitude);
    }

    /// <summary>
    /// Largest |actual - expected| / bound, where bound = slack * (terms + width) * u * magnitude + tiny: the standard
    /// worst-case rounding bound of a float32 sum of that many terms, so a value above 1 is a wrong result, not rounding.
    /// </summary>
    public double WorstRatio(float[] actual, double[] expected, double[] magnitude, double slack = 2)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = 0.0;
        for (var k = 0; k < expected.Length; k++)
        {
            var bound = slack * (Terms + width) * Float32Roundoff * magnitude[k] + 1e-30;
            worst = Math.Max(worst, Math.Abs(actual[k] - expected[k]) / bound);
        }
        return worst;
    }

    /// <summary>Largest |actual - expected| (for messages).</summary>
    public static double MaxAbsoluteError(float[] actual, double[] expected) =>
        expected.Select((e, k) => Math.Abs(actual[k] - e)).DefaultIfEmpty(0).Max();

    private int Pixel(int b, int c, int h, int w) => ((b * channels + c) * size + h) * size + w;
}

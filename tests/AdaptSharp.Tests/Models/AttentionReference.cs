namespace AdaptSharp.Tests.Models;

/// <summary>Multi-head self-attention (fused qkv rows q, k, v; output projection) in plain float64 arithmetic.</summary>
internal sealed class AttentionReference(int batch, int tokens, int width, int heads,
    float[] qkvWeight, float[] qkvBias, float[] projWeight, float[] projBias)
{
    public double SumOfSquares(double[] x) => Forward(x).Sum(v => v * v);

    public double[] Forward(double[] x)
    {
        var headWidth = width / heads;
        var output = new double[batch * tokens * width];
        for (var b = 0; b < batch; b++)
        {
            var qkv = new double[tokens, 3 * width];
            for (var t = 0; t < tokens; t++)
                for (var o = 0; o < 3 * width; o++)
                {
                    double s = qkvBias[o];
                    for (var i = 0; i < width; i++) s += qkvWeight[o * width + i] * x[(b * tokens + t) * width + i];
                    qkv[t, o] = s;
                }
            var merged = new double[tokens, width];
            for (var h = 0; h < heads; h++)
                for (var t = 0; t < tokens; t++)
                {
                    var scores = new double[tokens];
                    for (var u = 0; u < tokens; u++)
                    {
                        double s = 0;
                        for (var i = 0; i < headWidth; i++) s += qkv[t, h * headWidth + i] * qkv[u, width + h * headWidth + i];
                        scores[u] = s / Math.Sqrt(headWidth);
                    }
                    var max = scores.Max();
                    var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                    var total = weights.Sum();
                    for (var i = 0; i < headWidth; i++)
                    {
                        double s = 0;
                        for (var u = 0; u < tokens; u++) s += weights[u] / total * qkv[u, 2 * width + h * headWidth + i];
                        merged[t, h * headWidth + i] = s;
                    }
                }
            for (var t = 0; t < tokens; t++)
                for (var o = 0; o < width; o++)
                {
                    double s = projBias[o];
                    for (var i = 0; i < width; i++) s += projWeight[o * width + i] * merged[t, i];
                    output[(b * tokens + t) * width + o] = s;
                }
        }
        return output;
    }
}

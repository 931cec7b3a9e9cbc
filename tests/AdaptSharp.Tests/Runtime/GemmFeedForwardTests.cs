using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// The fused feed-forward (<see cref="GemmFeedForwardFunction"/>): fc2(GELU(fc1(x))) and its input gradient within
/// float32 rounding of float64 arithmetic, the same bits at every thread count, and its GELU (<see cref="Gelu"/>) within
/// its stated error of the exact function. Needs AVX-512.
/// </summary>
[Collection(GemmRoutingCollection.Name)]
public sealed class GemmFeedForwardTests
{
    private const double Unit = LinearFloat64Reference.Unit;

    /// <summary>
    /// Against float64: with h = x·W1ᵀ + b1 and a = GELU(h), each bound is the float32 rounding of the dot products (K·u·Σ|a·b|,
    /// as <see cref="LinearFloat64Reference"/>) plus what the GELU's error (2.5e-7·|h|, and its slope up to 1.13 times
    /// h's error) carries through fc2; the gradient's likewise through the derivative (its error 3e-7, its slope below 0.8).
    /// 100 rows: two whole blocks of 48 and a partial one.
    /// </summary>
    [Avx512Fact]
    public void ForwardAndInputGradientAreWithinFloat32RoundingOfFloat64AndTheSameAtEveryThreadCount()
    {
        using var scope = NewDisposeScope();
        const int rows = 100, width = 128, hidden = 256;
        var g = new Generator(21);
        var x = randn(rows, width, generator: g);
        var w1 = randn(hidden, width, generator: g) / Math.Sqrt(width);
        var b1 = randn(hidden, generator: g) * 0.1;
        var w2 = randn(width, hidden, generator: g) / Math.Sqrt(hidden);
        var b2 = randn(width, generator: g) * 0.1;
        var r = randn(rows, width, generator: g);

        var (x64, w164, b164, w264, b264, r64) = (x.to(float64), w1.to(float64), b1.to(float64), w2.to(float64), b2.to(float64), r.to(float64));
        var h = x64.mm(w164.t()) + b164;
        var distribution = (1 + special.erf(h / Math.Sqrt(2))) / 2;
        var density = (-h.square() / 2).exp() / Math.Sqrt(2 * Math.PI);
        var a = h * distribution;
        var y = a.mm(w264.t()) + b264;
        var hBound = (x64.abs().mm(w164.abs().t()) + b164.abs()) * ((width + 2) * Unit);
        var aError = (1.2 * hBound) + (2.5e-7 * h.abs()) + (Unit * a.abs());
        var yBound = ((a.abs().mm(w264.abs().t()) + b264.abs()) * ((hidden + 2) * Unit)) + aError.mm(w264.abs().t());
        var dA = r64.mm(w264);
        var derivative = distribution + (h * density);
        var dABound = r64.abs().mm(w264.abs()) * ((width + 2) * Unit);
        var dhError = (dA.abs() * ((0.8 * hBound) + 3e-7)) + (dABound * derivative.abs()) + (Unit * (dA * derivative).abs());
        var dh = dA * derivative;
        var dx = dh.mm(w164);
        var dxBound = (dh.abs().mm(w164.abs()) * ((hidden + 2) * Unit)) + dhError.mm(w164.abs());

        var weights = new GemmFeedForwardFunction.Weights(w1, b1, w2, b2);
        using var restore = new ThreadCountRestore();
        Tensor? firstY = null, firstDx = null;
        foreach (var threads in new[] { 1, 2 })
        {
            set_num_threads(threads);
            var input = x.clone().requires_grad_(true);
            var output = GemmFeedForwardFunction.Apply(input, weights);
            var gradient = autograd.grad([(output * r).sum()], [input])[0];
            LinearFloat64Reference.AssertWithin($"{threads} threads, forward", output, y, yBound);
            LinearFloat64Reference.AssertWithin($"{threads} threads, input gradient", gradient, dx, dxBound);
            using (no_grad())
                Assert.True(GemmFeedForwardFunction.Apply(x, weights).equal(output.detach()).all().item<bool>(), "no-grad forward differs");
            firstY ??= output.detach();
            firstDx ??= gradient;
            Assert.True(output.detach().equal(firstY).all().item<bool>(), $"forward at {threads} threads differs from 1 thread");
            Assert.True(gradient.equal(firstDx).all().item<bool>(), $"gradient at {threads} threads differs from 1 thread");
        }
    }

    /// <summary>
    /// The GELU and its derivative on 40,000 points of [-12, 12] (and 0, tiny and large magnitudes): the GELU within
    /// 2.5e-7·|x| plus its float rounding (Φ's error: the approximation's 1.5e-7 plus float32 evaluation; 2.33e-7 at worst
    /// here, near x = 0.05), the derivative within 3e-7 (2.4e-7 at worst), of float64.
    /// </summary>
    [Avx512Fact]
    public void TheGeluAndItsDerivativeAreWithinTheirStatedErrorOfTheExactFunction()
    {
        var values = Enumerable.Range(0, 40_000).Select(i => -12f + (24f * i / 39_999f)).Concat([0f, -1e-20f, 1e-20f, -30f, 30f, -200f, 200f]).ToList();
        while (values.Count % 16 != 0)
            values.Add(1f);
        using var xs = tensor(values.ToArray());
        using var ds = zeros_like(xs);
        Gelu.Apply(AttentionHeads.Address(xs), AttentionHeads.Address(ds), values.Count);
        var (x, derivative) = (xs.data<float>().ToArray(), ds.data<float>().ToArray());
        var worstGelu = 0.0;
        var worstDerivative = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            double v = values[i];
            var phi = 0.5 * (1 + Erf(v / Math.Sqrt(2)));
            var exact = v * phi;
            var exactDerivative = phi + (v * Math.Exp(-v * v / 2) / Math.Sqrt(2 * Math.PI));
            worstGelu = Math.Max(worstGelu, Math.Abs(x[i] - exact) / ((2.5e-7 * Math.Abs(v)) + (Unit * Math.Abs(exact)) + 1e-45));
            worstDerivative = Math.Max(worstDerivative, Math.Abs(derivative[i] - exactDerivative) / 3e-7);
        }
        Assert.True(worstGelu <= 1, $"GELU error {worstGelu:F2} of its bound");
        Assert.True(worstDerivative <= 1, $"derivative error {worstDerivative:F2} of its bound");
    }

    /// <summary>erf in float64 by its Taylor series (|x| &lt; 3) or continued fraction of erfc, to about 1e-15.</summary>
    private static double Erf(double x)
    {
        if (Math.Abs(x) < 3)
        {
            double sum = x, term = x;
            for (var n = 1; n < 200 && Math.Abs(term) > 1e-17; n++)
            {
                term *= -x * x / n;
                sum += term / ((2 * n) + 1);
            }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }
        var z = Math.Abs(x);
        var fraction = 0.0;
        for (var n = 60; n >= 1; n--)
            fraction = n / 2.0 / (z + fraction);
        var erfc = Math.Exp(-z * z) / Math.Sqrt(Math.PI) / (z + fraction);
        return Math.Sign(x) * (1 - erfc);
    }
}

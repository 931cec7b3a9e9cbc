using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// A linear layer y = x·Wᵀ + b and its three gradients for the loss sum(y ⊙ r), in float64, each with its float32
/// rounding bound: a K-term dot product is off by at most about K·u·Σ|a·b| (u = 2^-24). The reference is float64
/// arithmetic, never a float32 libtorch kernel (those differ across CPUs).
/// </summary>
internal sealed class LinearFloat64Reference
{
    public const double Unit = 1.0 / (1 << 24);

    private readonly (Tensor Exact, Tensor Bound) y, dx, dw, db;

    public LinearFloat64Reference(Tensor x, Tensor w, Tensor b, Tensor r)
    {
        var (m, k, n) = (x.shape[0], x.shape[1], w.shape[0]);
        var (x64, w64, b64, r64) = (x.to(float64), w.to(float64), b.to(float64), r.to(float64));
        y = (x64.mm(w64.t()) + b64, (x64.abs().mm(w64.abs().t()) + b64.abs()) * ((k + 2) * Unit));
        dx = (r64.mm(w64), r64.abs().mm(w64.abs()) * ((n + 2) * Unit));
        dw = (r64.t().mm(x64), r64.abs().t().mm(x64.abs()) * ((m + 2) * Unit));
        db = (r64.sum([0]), r64.abs().sum([0]) * ((m + 2) * Unit));
    }

    public void AssertForward(string what, Tensor actual) => AssertWithin(what + " forward", actual, y.Exact, y.Bound);

    public void AssertInputGradient(string what, Tensor actual) => AssertWithin(what + " input gradient", actual, dx.Exact, dx.Bound);

    /// <summary>The gradients of x, W and b, in that order.</summary>
    public void AssertGradients(string what, IList<Tensor> gradients)
    {
        AssertInputGradient(what, gradients[0]);
        AssertWithin(what + " weight gradient", gradients[1], dw.Exact, dw.Bound);
        AssertWithin(what + " bias gradient", gradients[2], db.Exact, db.Bound);
    }

    public static void AssertWithin(string what, Tensor actual, Tensor exact, Tensor bound)
    {
        var excess = ((actual.to(float64) - exact).abs() - bound).max().ToDouble();
        Assert.True(excess <= 0, $"{what}: exceeds its float32 rounding bound by {excess:G3} (max error {(actual.to(float64) - exact).abs().max().ToDouble():G3})");
    }
}

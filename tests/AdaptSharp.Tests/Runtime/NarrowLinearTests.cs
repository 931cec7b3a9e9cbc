using AdaptSharp.Models;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// The narrow products' kernel (<see cref="NarrowLinearFunction"/> on <see cref="NarrowGemm"/>) computes the linear layer:
/// forward and every gradient within float32 rounding of float64 arithmetic (a K-term dot product is off by at most
/// about K·u·Σ|a·b|, u = 2^-24), the same bits at every thread count, and nothing left alive. Needs AVX-512.
/// </summary>
public sealed class NarrowLinearTests
{
    private const double Unit = 1.0 / (1 << 24);

    [Avx512Theory]
    [InlineData(7, 48, 144)] // fewer rows than one tile
    [InlineData(13, 192, 48)] // two tiles and a row left; one 32-column and one 16-column tile per row group
    [InlineData(100, 64, 16)]
    [InlineData(1344, 48, 192)] // the demo model's first MLP product at its training batch
    public void TheProductAndItsGradientsAreWithinFloat32RoundingOfFloat64(int m, int k, int n)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        var x = randn(m, k, generator: g);
        var w = randn(n, k, generator: g) * 0.1;
        var b = randn(n, generator: g);
        var r = randn(m, n, generator: g);
        var (x64, w64, b64, r64) = (x.to(float64), w.to(float64), b.to(float64), r.to(float64));
        var yExact = x64.mm(w64.t()) + b64;
        var yBound = (x64.abs().mm(w64.abs().t()) + b64.abs()) * ((k + 2) * Unit);
        var dxExact = r64.mm(w64);
        var dxBound = r64.abs().mm(w64.abs()) * ((n + 2) * Unit);
        var dwExact = r64.t().mm(x64);
        var dwBound = r64.abs().t().mm(x64.abs()) * ((m + 2) * Unit);
        var dbExact = r64.sum([0]);
        var dbBound = r64.abs().sum([0]) * ((m + 2) * Unit);
        Assert.True(NarrowLinearFunction.Takes(k, n));

        // Everything trainable: the bias added outside the function, the weight gradient by libtorch.
        var (xv, wv, bv) = (x.clone().requires_grad_(true), w.clone().requires_grad_(true), b.clone().requires_grad_(true));
        var y = NarrowLinearFunction.Apply(xv, wv, bv);
        var grads = autograd.grad([(y * r).sum()], [xv, wv, bv]);
        AssertWithin("forward", y, yExact, yBound);
        AssertWithin("input gradient", grads[0], dxExact, dxBound);
        AssertWithin("weight gradient", grads[1], dwExact, dwBound);
        AssertWithin("bias gradient", grads[2], dbExact, dbBound);

        // Frozen weight and bias (an attack's input gradient): the bias starts the kernel's sums.
        var frozen = NarrowLinearFunction.Apply(xv, w, b);
        AssertWithin("forward, frozen bias", frozen, yExact, yBound);
        AssertWithin("input gradient, frozen weights", autograd.grad([(frozen * r).sum()], [xv])[0], dxExact, dxBound);
        using (no_grad())
            Assert.True(NarrowLinearFunction.Apply(x, w, b).equal(frozen.detach()).all().item<bool>(), "no_grad forward differs from the graph's");
    }

    [Avx512Fact]
    public void EveryThreadCountGivesTheSameBits()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(12);
        var x = randn(1000, 48, generator: g);
        var w = randn(144, 48, generator: g);
        var b = randn(144, generator: g);
        var r = randn(1000, 144, generator: g);
        var before = get_num_threads();
        try
        {
            Tensor? first = null;
            foreach (var threads in new[] { 1, 2, 3 })
            {
                set_num_threads(threads);
                var input = x.clone().requires_grad_(true);
                var y = NarrowLinearFunction.Apply(input, w, b);
                var both = cat([y.detach().flatten(), autograd.grad([(y * r).sum()], [input])[0].flatten()]);
                first ??= both;
                Assert.True(both.equal(first).all().item<bool>(), $"other bits at {threads} threads than at 1");
            }
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Fact]
    public void OnlyNarrowMultiplesOf16AreTaken()
    {
        Assert.Equal(NarrowGemm.Supported, NarrowLinearFunction.Takes(48, 144));
        Assert.Equal(NarrowGemm.Supported, NarrowLinearFunction.Takes(256, 16));
        Assert.False(NarrowLinearFunction.Takes(49, 48)); // the demo's patch embedding (7 x 7 x 1)
        Assert.False(NarrowLinearFunction.Takes(48, 10)); // its head
        Assert.False(NarrowLinearFunction.Takes(512, 48));
        Assert.False(NarrowLinearFunction.Takes(48, 272));
    }

    [Avx512Fact]
    public void StepsOfTheDemoShapedModelLeaveNoTensorAlive()
    {
        using var model = new VisionTransformer(ModelPresets.Get(ModelPresets.CpuPreset), PromptConfig.Parse("deep:4"), seed: 3);
        model.SetTrainable(TrainableSet.Prompts | TrainableSet.Head | TrainableSet.PatchEmbed);
        model.eval();
        using var images = rand(8, 1, 28, 28, generator: new Generator(5));
        using var labels = randint(0, 10, [8], generator: new Generator(6));
        ModelStepLeaks.AssertNone(model, images, labels);
    }

    private static void AssertWithin(string what, Tensor actual, Tensor exact, Tensor bound)
    {
        var excess = ((actual.to(float64) - exact).abs() - bound).max().ToDouble();
        Assert.True(excess <= 0, $"{what}: exceeds its float32 rounding bound by {excess:G3} (max error {(actual.to(float64) - exact).abs().max().ToDouble():G3})");
    }
}

using AdaptSharp.Models;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// The narrow products' kernel (<see cref="NarrowLinearFunction"/> on <see cref="NarrowGemm"/>) computes the linear layer:
/// forward and every gradient within float32 rounding of float64 arithmetic (<see cref="LinearFloat64Reference"/>),
/// the same bits at every thread count, and nothing left alive. Needs AVX-512.
/// </summary>
public sealed class NarrowLinearTests
{
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
        var reference = new LinearFloat64Reference(x, w, b, r);
        Assert.True(NarrowLinearFunction.Takes(k, n));

        // Everything trainable: the bias added outside the function, the weight gradient by libtorch.
        var (xv, wv, bv) = (x.clone().requires_grad_(true), w.clone().requires_grad_(true), b.clone().requires_grad_(true));
        var y = NarrowLinearFunction.Apply(xv, wv, bv);
        reference.AssertForward("trainable", y);
        reference.AssertGradients("trainable", autograd.grad([(y * r).sum()], [xv, wv, bv]));

        // Frozen weight and bias (an attack's input gradient): the bias goes into the kernel (added last).
        var frozen = NarrowLinearFunction.Apply(xv, w, b);
        reference.AssertForward("frozen bias", frozen);
        reference.AssertInputGradient("frozen weights", autograd.grad([(frozen * r).sum()], [xv])[0]);
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
        using var restore = new ThreadCountRestore();
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
}

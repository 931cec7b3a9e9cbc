using AdaptSharp.Models;
using AdaptSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Runtime;

/// <summary>
/// The AVX-512 kernel (<see cref="Avx512Gemm"/>) is a GEMM: every transposition, row stride, alpha and beta within float32
/// rounding of float64 arithmetic, a row's bits independent of how the rows are split; and as the narrow products'
/// linear layer (<see cref="GemmLinearFunction"/> on it) forward and every gradient within float32 rounding of float64
/// (<see cref="LinearFloat64Reference"/>), the same bits at every thread count, and nothing left alive. Needs AVX-512.
/// </summary>
public sealed class Avx512GemmTests
{
    private static GemmLibrary Kernel => Avx512GemmLibrary.Instance!;

    /// <summary>
    /// C = alpha · op(A) · op(B) + beta · C against float64, for operands stored with row strides wider than their rows
    /// (a head's columns of a packed projection) and shapes with partial tiles in both directions. Bound per element:
    /// k · 2^-24 · Σ|alpha · a · b| for the sum plus a few roundings of the alpha and beta terms.
    /// </summary>
    [Avx512Theory]
    [InlineData(false, false, 1f, 0f)]
    [InlineData(false, true, 1f, 1f)]
    [InlineData(true, false, 0.125f, 0f)]
    [InlineData(true, true, -0.5f, 0.75f)]
    public void EveryTranspositionStrideAlphaAndBetaIsAGemmWithinFloat32Rounding(bool transposeA, bool transposeB, float alpha, float beta)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(21);
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 50, 33), (13, 37, 70), (45, 96, 128), (222, 64, 222) })
        {
            // Stored with 3 spare columns per row: the kernel must honour lda, ldb, ldc.
            var a = randn(transposeA ? k : m, (transposeA ? m : k) + 3, generator: g);
            var b = randn(transposeB ? n : k, (transposeB ? k : n) + 3, generator: g);
            var c = randn(m, n + 3, generator: g);
            var before = c.clone();
            Kernel.Multiply(transposeA, transposeB, m, n, k, alpha, AttentionHeads.Address(a), (int)a.shape[1],
                AttentionHeads.Address(b), (int)b.shape[1], beta, AttentionHeads.Address(c), n + 3);
            var opA = (transposeA ? a[.., ..m].t() : a[.., ..k]).to(float64);
            var opB = (transposeB ? b[.., ..k].t() : b[.., ..n]).to(float64);
            var exact = (opA.mm(opB) * alpha) + (before[.., ..n].to(float64) * beta);
            var bound = (opA.abs().mm(opB.abs()) * (Math.Abs(alpha) * (k + 2) * Unit)) + (before[.., ..n].abs().to(float64) * (3 * Unit)) + 1e-30;
            var error = (c[.., ..n].to(float64) - exact).abs();
            Assert.True(error.le(bound).all().item<bool>(), $"{m}x{n}x{k}: error {error.max().item<double>():G3} above the bound");
            Assert.True(c[.., n..].equal(before[.., n..]).all().item<bool>(), $"{m}x{n}x{k}: wrote past n");
        }
    }

    private const double Unit = LinearFloat64Reference.Unit;

    /// <summary>A row's sums do not depend on where it sits in a call: rows computed in pieces are the same bits.</summary>
    [Avx512Fact]
    public void RowsComputedInAnySplitAreTheSameBits()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(22);
        const int m = 301, n = 77, k = 150;
        var a = randn(m, k, generator: g);
        var b = randn(n, k, generator: g);
        var (pa, pb) = (AttentionHeads.Address(a), AttentionHeads.Address(b));
        var whole = empty(m, n);
        Kernel.Multiply(false, true, m, n, k, 1f, pa, k, pb, k, 0f, AttentionHeads.Address(whole), n);
        foreach (var cut in new[] { 1, 5, 6, 7, 100, 300 })
        {
            var pieces = empty(m, n);
            var pc = AttentionHeads.Address(pieces);
            Kernel.Multiply(false, true, cut, n, k, 1f, pa, k, pb, k, 0f, pc, n);
            Kernel.Multiply(false, true, m - cut, n, k, 1f, pa + (sizeof(float) * cut * k), k, pb, k, 0f, pc + (sizeof(float) * cut * n), n);
            Assert.True(pieces.equal(whole).all().item<bool>(), $"rows cut at {cut} give other bits");
        }
    }

    [Avx512Theory]
    [InlineData(7, 48, 144)] // fewer rows than one tile
    [InlineData(13, 192, 48)] // two tiles and a row left; one 32-column and one 16-column tile per row group
    [InlineData(100, 64, 16)]
    [InlineData(1344, 48, 192)] // the demo model's first MLP product at its training batch
    [InlineData(5, 384, 10)] // a vit-small head at batch 5: outputs fill no vector
    [InlineData(128, 48, 10)] // the demo model's head
    [InlineData(9, 768, 100)] // a ViT-B head for CIFAR-100: three whole vectors and four outputs
    public void TheProductAndItsGradientsAreWithinFloat32RoundingOfFloat64(int m, int k, int n)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        var x = randn(m, k, generator: g);
        var w = randn(n, k, generator: g) * 0.1;
        var b = randn(n, generator: g);
        var r = randn(m, n, generator: g);
        var reference = new LinearFloat64Reference(x, w, b, r);
        Assert.True(GemmRouting.TakesNarrow(k, n));

        // Everything trainable: the bias added outside the function.
        var (xv, wv, bv) = (x.clone().requires_grad_(true), w.clone().requires_grad_(true), b.clone().requires_grad_(true));
        var y = GemmLinearFunction.Apply(Kernel, xv, wv, bv);
        reference.AssertForward("trainable", y);
        reference.AssertGradients("trainable", autograd.grad([(y * r).sum()], [xv, wv, bv]));

        // Frozen weight and bias (an attack's input gradient).
        var frozen = GemmLinearFunction.Apply(Kernel, xv, w, b);
        reference.AssertForward("frozen bias", frozen);
        reference.AssertInputGradient("frozen weights", autograd.grad([(frozen * r).sum()], [xv])[0]);
        using (no_grad())
            Assert.True(GemmLinearFunction.Apply(Kernel, x, w, b).equal(frozen.detach()).all().item<bool>(), "no_grad forward differs from the graph's");
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
            var y = GemmLinearFunction.Apply(Kernel, input, w, b);
            var both = cat([y.detach().flatten(), autograd.grad([(y * r).sum()], [input])[0].flatten()]);
            first ??= both;
            Assert.True(both.equal(first).all().item<bool>(), $"other bits at {threads} threads than at 1");
        }
    }

    [Fact]
    public void OnlyNarrowMultiplesOf16AndHeadsAreTaken()
    {
        Assert.Equal(Avx512Gemm.Supported, GemmRouting.TakesNarrow(48, 144));
        Assert.Equal(Avx512Gemm.Supported, GemmRouting.TakesNarrow(256, 16));
        Assert.False(GemmRouting.TakesNarrow(49, 48)); // the demo's patch embedding (7 x 7 x 1)
        Assert.Equal(Avx512Gemm.Supported, GemmRouting.TakesNarrow(48, 10)); // its head
        Assert.Equal(Avx512Gemm.Supported, GemmRouting.TakesNarrow(768, 100)); // a ViT-B head for CIFAR-100
        Assert.False(GemmRouting.TakesNarrow(50, 10));
        Assert.False(GemmRouting.TakesNarrow(48, 130));
        Assert.False(GemmRouting.TakesNarrow(512, 48));
        Assert.False(GemmRouting.TakesNarrow(48, 272));
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

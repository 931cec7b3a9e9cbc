using System.Text.RegularExpressions;
using AdaptSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Models;

/// <summary>
/// The speed paths (patch GEMM, explicit attention for short sequences) compute what the maths says. References are
/// float64 arithmetic and closed forms, never a libtorch kernel alone: CPU kernels differ across machines
/// (docs/reliability.md, "Section 2: CPU-dependent tests"; /work/shared/docs/PLATFORM.md, "CPU kernels differ").
/// </summary>
public class FastPathEquivalenceTests
{
    [Theory]
    [InlineData(1, 28, 7)]
    [InlineData(3, 32, 16)]
    [InlineData(3, 12, 4)]
    public void PatchEmbeddingEqualsFloat64PatchSumsAndTheClosedFormGradient(int channels, int size, int patch)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        const int n = 2, width = 24;
        var embed = new PatchEmbedding(channels, width, patch);
        var x = rand(n, channels, size, size);
        x.requires_grad_(true);
        var y = embed.forward(x);
        var gradient = autograd.grad(new[] { y.square().sum() }, new[] { x })[0];

        var reference = new PatchProjectionReference(n, channels, size, patch, width);
        var kernel = Floats(embed.Projection.weight!);
        var (yExact, yMagnitude) = reference.Forward(Floats(x), kernel, Floats(embed.Projection.bias!));
        var (gExact, gMagnitude) = reference.InputGradientOfSumOfSquares(yExact, yMagnitude, kernel);

        Assert.Equal(new long[] { n, (size / patch) * (size / patch), width }, y.shape);
        var yRatio = reference.WorstRatio(Floats(y), yExact, yMagnitude);
        Assert.True(yRatio <= 1, $"forward off by {yRatio:G3} x its float32 rounding bound (max abs error {PatchProjectionReference.MaxAbsoluteError(Floats(y), yExact):G3})");
        var gRatio = reference.WorstRatio(Floats(gradient), gExact, gMagnitude);
        Assert.True(gRatio <= 1, $"input gradient off by {gRatio:G3} x its float32 rounding bound (max abs error {PatchProjectionReference.MaxAbsoluteError(Floats(gradient), gExact):G3})");
    }

    /// <summary>
    /// Documents the upstream defect: on some CPUs (AMD EPYC Zen 4 with AVX-512, libtorch 2.10) conv2d's backward
    /// returns a wrong input gradient for a 1-channel stride = kernel convolution (max error 0.38 against a gradient
    /// of max 1.13) while its forward is exact. Skipped where libtorch gets it right; never fails there.
    /// </summary>
    [LibTorchConv2dBackwardDefectFact]
    public void LibTorchConv2dBackwardIsWrongOnThisCpuWhileTheFastPathIsRight()
    {
        var measured = Conv2dBackwardProbe.Measured;
        Assert.True(measured.ForwardRatio <= 1, $"conv2d forward off by {measured.ForwardRatio:G3} x its rounding bound");
        Assert.True(measured.BackwardRatio > 1, "the defect did not show (the attribute should have skipped this test)");
        Assert.True(measured.FastPathBackwardRatio <= 1,
            $"the fast path must stay right where conv2d is wrong: off by {measured.FastPathBackwardRatio:G3} x the bound");
    }

    /// <summary>
    /// Guard: no model computation goes through a convolution kernel, so the conv2d backward defect above cannot reach
    /// a gradient an attack or the trainer uses. PatchEmbedding keeps its Conv2d only as the holder of timm's
    /// patch_embed.proj parameters; nothing may call it (TorchSharp's forward hooks only see module.call, not
    /// module.forward, so the guard reads the source: every convolution call, direct or through the module).
    /// </summary>
    [Fact]
    public void TheLibraryNeverRunsAConvolutionSoThePatchGemmIsTheOnlyPath()
    {
        var source = Path.Combine(RepoRoot(), "src", "AdaptSharp");
        // Direct convolutions anywhere; the patch Conv2d module is PatchEmbedding's `proj`, exposed as `Projection`.
        var calls = new Regex(@"\bconv(_transpose)?[123]d\(|\bProjection\.(forward|call)\(|\bconvolution\(", RegexOptions.IgnoreCase);
        var moduleCalls = new Regex(@"\bproj\.(forward|call)\(");
        var offending = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line)))
            .Where(t => !t.line.TrimStart().StartsWith("//"))
            .Where(t => calls.IsMatch(t.line.Replace("nn.Conv2d(", ""))
                || (Path.GetFileName(t.f) == "PatchEmbedding.cs" && moduleCalls.IsMatch(t.line)))
            .Select(t => $"{Path.GetRelativePath(source, t.f)}:{t.i + 1}")
            .ToList();
        Assert.True(offending.Count == 0, "convolution call(s) in the library: " + string.Join(", ", offending));
        // The pattern does see calls, so an empty result means something.
        Assert.Matches(calls, "F.conv2d(x, w)");
        Assert.Matches(calls, "embed.Projection.forward(x)");
        Assert.Matches(moduleCalls, "var y = proj.forward(x);");
    }

    [Theory]
    [InlineData(10)]   // the short-sequence kernel (float32 on a CPU with FMA)
    [InlineData(70)]   // scaled_dot_product_attention path
    public void SelfAttentionEqualsFloat64AttentionWithItsGradient(int tokens)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        const int batch = 2, width = 16, heads = 2;
        var attention = new SelfAttention(width, heads);
        var p = attention.named_parameters().ToDictionary(t => t.name, t => Floats(t.parameter));
        var x = randn(batch, tokens, width);
        x.requires_grad_(true);
        var y = attention.forward(x);
        var gradient = Floats(autograd.grad(new[] { y.square().sum() }, new[] { x })[0]);
        var reference = new AttentionReference(batch, tokens, width, heads, p["qkv.weight"], p["qkv.bias"], p["proj.weight"], p["proj.bias"]);
        var xs = Floats(x).Select(v => (double)v).ToArray();
        var exact = reference.Forward(xs);
        var actual = Floats(y);
        // float32 through three chained sums of ~width terms each and a softmax: relative error of a few 1e-6 of
        // the output's scale is rounding; a wrong path is off by the output's order of magnitude.
        var scale = exact.Max(Math.Abs);
        var forwardError = exact.Select((e, k) => Math.Abs(actual[k] - e)).Max();
        Assert.True(forwardError <= 1e-5 * scale, $"forward error {forwardError:G3} at output scale {scale:G3}");

        // The gradient against float64 central differences of f(x) = sum(y^2) along random directions.
        var rng = new Random(11);
        for (var trial = 0; trial < 3; trial++)
        {
            var direction = xs.Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            const double h = 1e-4;
            var plus = reference.SumOfSquares(xs.Select((v, k) => v + h * direction[k]).ToArray());
            var minus = reference.SumOfSquares(xs.Select((v, k) => v - h * direction[k]).ToArray());
            var numeric = (plus - minus) / (2 * h);
            var analytic = gradient.Select((g, k) => g * direction[k]).Sum();
            var magnitude = gradient.Select((g, k) => Math.Abs(g * direction[k])).Sum();
            Assert.True(Math.Abs(analytic - numeric) <= 1e-4 * magnitude,
                $"directional derivative {analytic:G6} vs float64 central difference {numeric:G6} (magnitude {magnitude:G3})");
        }
    }

    private static float[] Floats(Tensor t) => t.detach().contiguous().data<float>().ToArray();

    private static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "AdaptSharp.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repository root not found");
    }
}

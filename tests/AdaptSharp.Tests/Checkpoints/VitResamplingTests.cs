using AdaptSharp.Checkpoints;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace AdaptSharp.Tests.Checkpoints;

public sealed class VitResamplingTests
{
    private const int Width = 6;

    /// <summary>[1, 1 + g*g, D]: class token row of 7s, grid value f(row, col) in every channel.</summary>
    private static Tensor PosEmbed(int grid, Func<int, int, float> f)
    {
        var values = new List<float>();
        values.AddRange(Enumerable.Repeat(7f, Width));
        for (var r = 0; r < grid; r++)
            for (var c = 0; c < grid; c++)
                values.AddRange(Enumerable.Repeat(f(r, c), Width));
        return tensor(values.ToArray()).reshape(1, 1 + grid * grid, Width);
    }

    private static float[,] Grid(Tensor posEmbed, int grid, int channel = 0)
    {
        var data = posEmbed[0, TensorIndex.Slice(1), channel].data<float>().ToArray();
        var result = new float[grid, grid];
        for (var i = 0; i < data.Length; i++)
            result[i / grid, i % grid] = data[i];
        return result;
    }

    [Fact]
    public void ConstantGridStaysConstantBothWaysAndClassTokenIsKept()
    {
        using var source = PosEmbed(8, (_, _) => 0.25f);
        using var down = VitResampling.PositionEmbedding(source, 4);
        Assert.Equal(new long[] { 1, 17, Width }, down.shape);
        using var up = VitResampling.PositionEmbedding(down, 8);
        Assert.Equal(new long[] { 1, 65, Width }, up.shape);
        foreach (var t in new[] { down, up })
        {
            Assert.Equal(Enumerable.Repeat(7f, Width), t[0, 0].data<float>().ToArray());
            using var grid = t.narrow(1, 1, t.shape[1] - 1);
            Assert.True(grid.sub(0.25).abs().max().item<float>() < 1e-5);
        }
    }

    [Fact]
    public void LinearRampStaysARamp()
    {
        using var source = PosEmbed(8, (_, c) => c);
        using var down = VitResampling.PositionEmbedding(source, 4);
        var g = Grid(down, 4);
        for (var r = 0; r < 4; r++)
        {
            for (var c = 0; c < 4; c++)
                Assert.Equal(g[0, c], g[r, c], 4); // rows unchanged: the ramp runs along columns only
            for (var c = 1; c < 4; c++)
                Assert.True(g[r, c] > g[r, c - 1]);
        }
        // Output cell centres sit at input columns 0.5, 2.5, 4.5, 6.5: the interior keeps slope 2.
        Assert.InRange(g[0, 2] - g[0, 1], 1.8f, 2.2f);
        Assert.InRange((g[0, 1] + g[0, 2]) / 2, 3.4f, 3.6f);

        using var up = VitResampling.PositionEmbedding(down, 8);
        var u = Grid(up, 8);
        for (var c = 1; c < 8; c++)
            Assert.True(u[3, c] > u[3, c - 1]);
        Assert.InRange(u[3, 4] - u[3, 3], 0.8f, 1.2f);
    }

    [Fact]
    public void SameGridIsUnchangedAndNonSquareIsRefused()
    {
        using var source = PosEmbed(3, (r, c) => r * 10 + c);
        using var same = VitResampling.PositionEmbedding(source, 3);
        Assert.True(same.allclose(source, rtol: 0, atol: 0));
        using var odd = zeros(1, 1 + 6, Width);
        Assert.Throws<ArgumentException>(() => VitResampling.PositionEmbedding(odd, 2));
    }

    [Fact]
    public void PatchKernelChangesShape()
    {
        using var kernel = randn(5, 3, 8, 8, generator: new Generator(1));
        using var smaller = VitResampling.PatchKernel(kernel, 4);
        Assert.Equal(new long[] { 5, 3, 4, 4 }, smaller.shape);
        using var larger = VitResampling.PatchKernel(kernel, 16);
        Assert.Equal(new long[] { 5, 3, 16, 16 }, larger.shape);
        using var same = VitResampling.PatchKernel(kernel, 8);
        Assert.True(same.allclose(kernel, rtol: 0, atol: 0));
    }

    [Fact]
    public void EnlargedKernelGivesTheSameEmbeddingOfAResizedPatch()
    {
        // The pseudo-inverse property: <resize(x), w'> = <x, w> for every 4x4 patch x when going to 8x8.
        var gen = new Generator(2);
        using var kernel = randn(4, 3, 4, 4, generator: gen);
        using var patches = rand(10, 3, 4, 4, generator: gen);
        using var resampled = VitResampling.PatchKernel(kernel, 8);
        using var resized = interpolate(patches, size: [8, 8], mode: InterpolationMode.Bicubic, align_corners: false, antialias: true);
        // Inner products in float64 arithmetic, not a libtorch convolution (CPU-dependent kernels, docs/reliability.md).
        var original = InnerProducts(patches, kernel);
        var after = InnerProducts(resized, resampled);
        var scale = original.Max(Math.Abs);
        var worst = original.Select((o, k) => Math.Abs(after[k] - o)).Max();
        Assert.True(worst <= 1e-4 * Math.Max(1, scale), $"max difference {worst} at scale {scale}");
    }

    /// <summary>&lt;patch_n, kernel_d&gt; for every image n and output channel d, summed in float64.</summary>
    private static double[] InnerProducts(Tensor images, Tensor kernels)
    {
        var (n, d, per) = ((int)images.shape[0], (int)kernels.shape[0], (int)(images.numel() / images.shape[0]));
        var x = images.contiguous().data<float>().ToArray();
        var w = kernels.contiguous().data<float>().ToArray();
        Assert.Equal(per, (int)(kernels.numel() / kernels.shape[0]));
        var result = new double[n * d];
        for (var i = 0; i < n; i++)
            for (var o = 0; o < d; o++)
            {
                double sum = 0;
                for (var k = 0; k < per; k++) sum += (double)x[i * per + k] * w[o * per + k];
                result[i * d + o] = sum;
            }
        return result;
    }
}

using AdaptSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace AdaptSharp.Tests.Data;

public class TransformsTests
{
    private static Tensor RandomImages(int n, int c, int h, int w, long seed)
    {
        var r = new DeterministicRandom(seed);
        var v = new float[n * c * h * w];
        for (var i = 0; i < v.Length; i++) v[i] = (float)r.NextDouble();
        return tensor(v, [n, c, h, w]);
    }

    [Theory]
    [InlineData(32, 224)]
    [InlineData(224, 32)]
    [InlineData(28, 32)]
    [InlineData(32, 16)]
    public void ResizeKeepsRangeAndGivesTheTargetShape(int from, int to)
    {
        using var scope = NewDisposeScope();
        var x = RandomImages(3, 3, from, from, 1);
        var y = Transforms.Resize(x, to, to);
        Assert.Equal(new long[] { 3, 3, to, to }, y.shape);
        Assert.True(y.min().item<float>() >= 0f && y.max().item<float>() <= 1f);
    }

    [Fact]
    public void ShrinkingIsAntialiased()
    {
        using var scope = NewDisposeScope();
        // A one-pixel checkerboard averages to grey under an antialiased 4x shrink;
        // plain bilinear sampling would pick near-single pixels and keep a strong pattern.
        var board = new float[32 * 32];
        for (var y = 0; y < 32; y++)
            for (var x = 0; x < 32; x++)
                board[y * 32 + x] = (x + y) % 2;
        var img = tensor(board, [1, 1, 32, 32]);
        var small = Transforms.Resize(img, 8, 8);
        Assert.True((small - 0.5).abs().max().item<float>() < 0.05f);
        var constant = full(new long[] { 2, 3, 20, 30 }, 0.25f);
        Assert.True((Transforms.Resize(constant, 7, 7) - 0.25).abs().max().item<float>() < 1e-6f);
    }

    [Fact]
    public void GreyToRgbRepeatsTheChannelAndRgbToGreyIsLuma()
    {
        using var scope = NewDisposeScope();
        var grey = RandomImages(2, 1, 5, 5, 2);
        var rgb = Transforms.MatchChannels(grey, 3);
        Assert.Equal(new long[] { 2, 3, 5, 5 }, rgb.shape);
        for (var c = 0; c < 3; c++)
            Assert.True(rgb.narrow(1, c, 1).eq(grey).all().item<bool>());
        var back = Transforms.MatchChannels(rgb, 1);
        Assert.True((back - grey).abs().max().item<float>() < 1e-5f);
        Assert.Throws<ArgumentException>(() => Transforms.MatchChannels(grey, 2));
    }

    [Fact]
    public void RandomCropIsAShiftedWindowOfTheZeroPaddedImage()
    {
        using var scope = NewDisposeScope();
        var x = RandomImages(16, 3, 8, 8, 3) * 0.5 + 0.5; // strictly positive, so padding zeros are recognisable
        var y = Transforms.RandomCrop(x, 2, new DeterministicRandom(9));
        Assert.Equal(x.shape, y.shape);
        var padded = nn.functional.pad(x, [2, 2, 2, 2]);
        var r = new DeterministicRandom(9);
        for (var i = 0; i < 16; i++)
        {
            var dy = r.NextInt(5);
            var dx = r.NextInt(5);
            Assert.True(y[i].eq(padded[i].narrow(1, dy, 8).narrow(2, dx, 8)).all().item<bool>());
        }
        Assert.True(y.min().item<float>() >= 0f && y.max().item<float>() <= 1f);
        Assert.True(y.eq(0).any().item<bool>()); // some sample was shifted into the padding
    }

    [Fact]
    public void FlipMirrorsExactlyTheDrawnSamples()
    {
        using var scope = NewDisposeScope();
        var x = RandomImages(32, 1, 4, 6, 4);
        var y = Transforms.RandomHorizontalFlip(x, new DeterministicRandom(11));
        var r = new DeterministicRandom(11);
        var flips = 0;
        for (var i = 0; i < 32; i++)
        {
            var flipped = r.NextBool();
            flips += flipped ? 1 : 0;
            Assert.True(y[i].eq(flipped ? x[i].flip(2) : x[i]).all().item<bool>());
        }
        Assert.InRange(flips, 1, 31);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    public void FusedCropAndFlipEqualsCropThenFlip(int padding, bool flip)
    {
        using var scope = NewDisposeScope();
        var x = RandomImages(24, 3, 9, 7, 5);
        var fused = Transforms.RandomCropAndFlip(x, padding, flip, new DeterministicRandom(21));
        var r = new DeterministicRandom(21);
        var expected = Transforms.RandomCrop(x, padding, r);
        if (flip) expected = Transforms.RandomHorizontalFlip(expected, r);
        Assert.Equal(x.shape, fused.shape);
        Assert.True(fused.eq(expected).all().item<bool>());
        var bytes = (x * 255).round().to_type(ScalarType.Byte);
        var onBytes = Transforms.RandomCropAndFlip(bytes, padding, flip, new DeterministicRandom(21));
        var onFloats = Transforms.RandomCropAndFlip(bytes.to_type(ScalarType.Float32), padding, flip, new DeterministicRandom(21));
        Assert.True(onBytes.to_type(ScalarType.Float32).eq(onFloats).all().item<bool>());
    }

    [Fact]
    public void PipelineConvertsUint8ToUnitRangeAndReachesTheModelShape()
    {
        using var scope = NewDisposeScope();
        var pixels = arange(0, 2 * 28 * 28, dtype: ScalarType.Int64).remainder(256).to_type(ScalarType.Byte).reshape(2, 1, 28, 28);
        var plain = new TransformPipeline().Apply(pixels, null);
        Assert.Equal(ScalarType.Float32, plain.dtype);
        Assert.True((plain * 255 - pixels.to_type(ScalarType.Float32)).abs().max().item<float>() < 1e-4f);

        var spec = DatasetSpec.Parse("fashion-mnist");
        var pipeline = TransformPipeline.ForModel(32, 3).WithDefaultAugmentation(spec, 28);
        Assert.Equal(3, pipeline.CropPadding);
        Assert.True(pipeline.HorizontalFlip);
        var y = pipeline.Apply(pixels, new DeterministicRandom(1));
        Assert.Equal(new long[] { 2, 3, 32, 32 }, y.shape);
        Assert.True(y.min().item<float>() >= 0f && y.max().item<float>() <= 1f);
        Assert.Equal((3, 32, 32), pipeline.OutputShape(1, 28, 28));
        // same seed, same augmentation
        Assert.True(y.eq(pipeline.Apply(pixels, new DeterministicRandom(1))).all().item<bool>());
        Assert.False(TransformPipeline.ForModel(32, 3).WithDefaultAugmentation(DatasetSpec.Parse("mnist:/x"), 28).HorizontalFlip);
        Assert.Equal(4, new TransformPipeline().WithDefaultAugmentation(DatasetSpec.Parse("cifar10:/x"), 32).CropPadding);
    }
}
